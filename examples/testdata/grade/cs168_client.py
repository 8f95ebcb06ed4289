#!/usr/bin/env python3
"""A cs168 client as a student would write it, for the grader's tests:
client.py NAME HOST PORT [--bug NAME]. --bug breaks one rule:

  nowipe    prints server messages without wiping the prompt
  newline   sends the typed line with its newline inside the frame
  noexit    says the server has disconnected, but does not exit
  noprompt  never shows the [Me] prompt
  exact200  reads up to 200 bytes at a time and prints a frame only when
            exactly 200 are in hand (stuck once a read crosses a frame)
  crwipe    "wipes" the prompt with \r alone, without the four spaces
  readline  reads stdin with a buffered readline after select, so lines
            that arrive together wait for more input
  gonenowipe  prints the server's disconnection after the prompt, unwiped

--variant NAME makes one choice the specification allows (the program
must still pass):

  exit0     exits with status 0 when it cannot connect
  longraw   sends a line longer than a frame as one longer message
"""
import os
import select
import socket
import sys

FRAME = 200
name, host, port = sys.argv[1], sys.argv[2], sys.argv[3]
bug = sys.argv[5] if len(sys.argv) > 5 and sys.argv[4] == "--bug" else ""
variant = sys.argv[5] if len(sys.argv) > 5 and sys.argv[4] == "--variant" else ""


def out(text):
    if bug == "noprompt":
        text = text.replace("[Me] ", "")
    sys.stdout.write(text)
    sys.stdout.flush()


def main():
    try:
        s = socket.create_connection((host, int(port)))
    except OSError:
        out("Unable to connect to %s:%s\n" % (host, port))
        sys.exit(0 if variant == "exit0" else 1)
    s.sendall(name.encode().ljust(FRAME, b" "))
    out("[Me] ")
    buf, typed, inputs = b"", b"", [s, 0]
    while True:
        ready, _, _ = select.select(inputs, [], [])
        if s in ready:
            data = s.recv(FRAME if bug == "exact200" else 4096)
            if not data:
                wipe = "" if bug == "gonenowipe" else "\r    \r"
                out(wipe + "Server at %s:%s has disconnected\n" % (host, port))
                if bug == "noexit":
                    inputs = [0]
                    continue
                sys.exit(0)
            buf += data
            if bug == "exact200":
                if len(buf) == FRAME:
                    out("\r    \r" + buf.decode(errors="replace").rstrip() + "\n[Me] ")
                    buf = b""
                continue
            while len(buf) >= FRAME:
                frame, buf = buf[:FRAME], buf[FRAME:]
                msg = frame.decode(errors="replace").rstrip()
                wipe = {"nowipe": "", "crwipe": "\r"}.get(bug, "\r    \r")
                out(wipe + msg + "\n[Me] ")
        if 0 in ready:
            data = sys.stdin.buffer.readline() if bug == "readline" else os.read(0, 4096)
            if not data:
                inputs = [s]
                continue
            typed += data
            while b"\n" in typed:
                line, typed = typed.split(b"\n", 1)
                if bug == "newline":
                    line += b"\n"
                if variant == "longraw":
                    s.sendall(line.ljust(FRAME, b" "))
                    out("[Me] ")
                    continue
                for i in range(0, max(len(line), 1), FRAME):
                    s.sendall(line[i:i + FRAME].ljust(FRAME, b" "))
                out("[Me] ")


if __name__ == "__main__":
    main()
