#!/usr/bin/env python3
"""A lobby client as a student would write it, for the grader's tests:
lobby_client.py HOST PORT [--bug NAME]. --bug breaks one rule:

  rawcodes  prints the server's reply codes instead of explaining them
  nologout  sends /logout but neither closes nor exits
  nochat    does not show the others' chat lines
  nolist    shows how many rooms there are, not their names

--variant NAME leaves out what the course's assignment does not ask for
(the program must still pass, with a note):

  nomerge   takes a nickname as accepted only if the read is exactly "0"
  nogone    takes the server's going away for empty messages, printing
            them for ever
"""
import os
import select
import socket
import sys

host, port = sys.argv[1], sys.argv[2]
bug = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--bug" else ""
variant = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--variant" else ""


def say(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def ask(prompt):
    say(prompt)
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    return line.strip()


def main():
    try:
        s = socket.create_connection((host, int(port)))
    except OSError:
        say("Unable to connect to %s:%s" % (host, port))
        sys.exit(1)

    def recv():
        data = s.recv(1024)
        if not data and variant != "nogone":
            say("The server has gone away.")
            sys.exit(0)
        return data.decode(errors="replace").strip()

    while True:
        answer = ask("Type /list to see the rooms, or a room name to join it:")
        if answer == "/list":
            s.sendall(b"/list")
            for _ in range(int(recv())):
                name = recv()
                if bug != "nolist":
                    say("  " + name)
            continue
        s.sendall(("/join " + answer).encode())
        reply = recv()
        if reply.startswith("0"):
            break
        say(reply if bug == "rawcodes" else "That room name is not allowed.")
    while True:
        nick = ask("Nickname:")
        s.sendall(("/nick " + nick).encode())
        reply = recv()
        if reply == "0" or (reply.startswith("0") and variant != "nomerge"):
            if reply[1:]:
                say(reply[1:])
            break
        if bug == "rawcodes":
            say(reply)
        elif reply.startswith("2"):
            say("That nickname is taken.")
        else:
            say("That nickname is badly formed.")
    while True:
        ready, _, _ = select.select([s, 0], [], [])
        if s in ready:
            message = recv()
            if not (bug == "nochat" and "> " in message):
                say(message)
        if 0 in ready:
            line = os.read(0, 1024).decode().strip()
            if not line:
                continue
            s.sendall(line.encode())
            if line == "/logout" and bug != "nologout":
                s.close()
                sys.exit(0)


if __name__ == "__main__":
    main()
