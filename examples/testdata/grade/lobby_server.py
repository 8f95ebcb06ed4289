#!/usr/bin/env python3
"""A lobby server as the course's is described, for the grader's tests:
lobby_server.py PORT [--bug NAME]. --bug breaks one rule:

  nopace          consecutive messages go out with no pause between them
  echo            chat lines go to their sender too
  whoorder        /who lists the members newest first
  listorder       /list names the rooms newest first
  nick2           a nickname taken in the room gets 1, not 2
  nologoutnotice  /logout tells the others nothing
  badcount        "There are N people" counts one too few
  blockfirst      waits for each new client's first message before taking the next

--variant NAME behaves as the course's own server does where it differs
from a literal reading (the program must still pass, -strict too):

  twospaces   the join notice ends in two spaces ("ann has joined the room.  ")
  leftonlost  says "has left the room." for a lost connection too
"""
import re
import socket
import sys
import threading
import time

bug = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--bug" else ""
variant = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--variant" else ""
WORD = re.compile(r"^[A-Za-z0-9]+$")
lock = threading.Lock()
rooms = {}  # name -> list of clients, in join order
order = []


class Client:
    def __init__(self, conn):
        self.conn, self.nick, self.room = conn, None, None
        self.mu, self.last = threading.Lock(), 0.0

    def send(self, text):
        with self.mu:
            if bug != "nopace":
                time.sleep(max(0, self.last + 0.2 - time.time()))
            try:
                self.conn.sendall(text.encode())
            except OSError:
                pass
            self.last = time.time()


def serve(conn, first=None):
    c = Client(conn)
    lost = False
    try:
        while True:
            data, first = (first, None) if first is not None else (conn.recv(1024), None)
            if not data:
                break
            msg = data.decode(errors="replace").strip()
            words = msg.split(" ")
            if c.room is None:
                if msg == "/list":
                    with lock:
                        names = list(order)
                    c.send(str(len(names)))
                    for n in (names[::-1] if bug == "listorder" else names):
                        c.send(n)
                elif msg == "/logout":
                    break
                elif len(words) == 2 and words[0] == "/join" and WORD.match(words[1]):
                    c.room = words[1]
                    c.send("0")
                else:
                    c.send("1")
            elif c.nick is None:
                if msg == "/logout":
                    break
                if len(words) != 2 or words[0] != "/nick" or not WORD.match(words[1]):
                    c.send("1")
                    continue
                with lock:
                    members = rooms.setdefault(c.room, [])
                    if c.room not in order:
                        order.append(c.room)
                    if any(m.nick == words[1] for m in members):
                        taken = True
                    else:
                        taken = False
                        c.nick = words[1]
                        members.append(c)
                        everyone = list(members)
                if taken:
                    c.send("1" if bug == "nick2" else "2")
                    continue
                c.send("0")
                if len(everyone) == 1:
                    c.send("You have joined a new room.")
                else:
                    for m in everyone:
                        m.send("%s has joined the room.%s" % (c.nick, "  " if variant == "twospaces" else ""))
                        m.send("There are %d people in the room." % (len(everyone) - (bug == "badcount")))
            else:
                if msg in ("/logout", ""):
                    if bug == "nologoutnotice":
                        with lock:
                            rooms[c.room].remove(c)
                        c.nick = None
                    break
                with lock:
                    members = list(rooms[c.room])
                if msg == "/who":
                    c.send("Users in this room:")
                    for m in (members[::-1] if bug == "whoorder" else members):
                        c.send(m.nick)
                    continue
                for m in members:
                    if m is not c or bug == "echo":
                        m.send("%s> %s" % (c.nick, msg))
    except ConnectionResetError:
        lost = True
    finally:
        conn.close()
        if c.nick is not None:
            with lock:
                rooms[c.room].remove(c)
                members = list(rooms[c.room])
            for m in members:
                m.send("%s %s" % (c.nick, "has been disconnected." if lost and variant != "leftonlost" else "has left the room."))


def main():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("", int(sys.argv[1])))
    ls.listen(64)
    while True:
        conn, _ = ls.accept()
        first = None
        if bug == "blockfirst":  # everyone waits for this client to speak
            try:
                first = conn.recv(1024)
            except OSError:
                first = b""
        threading.Thread(target=serve, args=(conn, first), daemon=True).start()


if __name__ == "__main__":
    main()
