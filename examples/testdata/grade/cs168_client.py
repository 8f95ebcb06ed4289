#!/usr/bin/env python3
"""A cs168 client as a student would write it, for the grader's tests:
client.py NAME HOST PORT [--bug NAME]. --bug breaks one rule:

  nowipe    prints server messages without wiping the prompt
  newline   sends the typed line with its newline inside the frame
  noexit    says the server has disconnected, but does not exit
  noprompt  never shows the [Me] prompt
"""
import os
import select
import socket
import sys

FRAME = 200
name, host, port = sys.argv[1], sys.argv[2], sys.argv[3]
bug = sys.argv[5] if len(sys.argv) > 5 and sys.argv[4] == "--bug" else ""


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
        sys.exit(1)
    s.sendall(name.encode().ljust(FRAME, b" "))
    out("[Me] ")
    buf, typed, inputs = b"", b"", [s, 0]
    while True:
        ready, _, _ = select.select(inputs, [], [])
        if s in ready:
            data = s.recv(4096)
            if not data:
                out("\r    \rServer at %s:%s has disconnected\n" % (host, port))
                if bug == "noexit":
                    inputs = [0]
                    continue
                sys.exit(0)
            buf += data
            while len(buf) >= FRAME:
                frame, buf = buf[:FRAME], buf[FRAME:]
                msg = frame.decode(errors="replace").rstrip()
                out((msg if bug == "nowipe" else "\r    \r" + msg) + "\n[Me] ")
        if 0 in ready:
            data = os.read(0, 4096)
            if not data:
                inputs = [s]
                continue
            typed += data
            while b"\n" in typed:
                line, typed = typed.split(b"\n", 1)
                if bug == "newline":
                    line += b"\n"
                for i in range(0, max(len(line), 1), FRAME):
                    s.sendall(line[i:i + FRAME].ljust(FRAME, b" "))
                out("[Me] ")


if __name__ == "__main__":
    main()
