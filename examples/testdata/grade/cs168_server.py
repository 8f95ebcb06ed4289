#!/usr/bin/env python3
"""A cs168 channel-chat server as a student would write it (select, a
buffer per client), for the grader's tests. --bug NAME breaks one rule:

  echo         chat lines are echoed to their sender too
  nobuffer     each recv() is taken as one frame
  failedjoin   /join of a missing channel leaves the current one (silently)
  blocking     reads each new client's name before serving anyone else
  errortext    the /create error has a final period
  noswitchleave  moving to another channel tells the old one nothing
  listempty    /list with no channels answers "none"
  newlineout   ends every message it sends with a newline, inside the frame
  newlinecrash crashes on a frame whose text holds a newline
  exact200     reads up to 200 bytes at a time and takes a frame only when
               exactly 200 are in hand (stuck once a read crosses a frame)
  nochanneldrop  crashes when a client in no channel disconnects

--variant NAME makes one choice the specification allows (the program
must still pass):

  spacesonly   strips trailing spaces only, as the course's spec says
               ("/list\n" is then an unknown control message)
  longrelay    relays a line too long for one frame as one longer message
"""
import select
import socket
import sys

FRAME = 200
bug = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--bug" else ""
variant = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--variant" else ""


def pad(text):
    if variant == "longrelay":
        return text.encode().ljust(FRAME, b" ")
    return text.encode()[:FRAME].ljust(FRAME, b" ")


def main():
    port = int(sys.argv[1])
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("", port))
    ls.listen(64)
    bufs, names, chan = {}, {}, {}
    channels = []

    def send(s, text):
        if bug == "newlineout":
            text += "\n"
        try:
            s.sendall(pad(text))
        except OSError:
            pass

    def members(c, but=None):
        return [s for s in chan if chan[s] == c and s is not but]

    def leave(s, switching=False):
        c = chan.get(s)
        if c is not None:
            chan[s] = None
            if switching and bug == "noswitchleave":
                return
            for m in members(c):
                send(m, "%s has left" % names[s])

    def enter(s, c):
        for m in members(c):
            send(m, "%s has joined" % names[s])
        chan[s] = c

    def drop(s):
        if bug == "nochanneldrop" and s in names and chan.get(s) is None:
            raise RuntimeError("no channel to leave")
        if s in names:
            leave(s)
            del names[s]
        chan.pop(s, None)
        bufs.pop(s, None)
        s.close()

    def handle(s, msg):
        if s not in names:
            names[s] = msg
            chan[s] = None
            return
        if msg.startswith("/"):
            words = msg.split(" ") if variant == "spacesonly" else msg.split()
            cmd = words[0]
            if cmd == "/list":
                send(s, "\n".join(channels) if channels or bug != "listempty" else "none")
            elif cmd == "/join":
                if len(words) < 2:
                    send(s, "/join command must be followed by the name of a channel to join.")
                elif words[1] not in channels:
                    if bug == "failedjoin":
                        chan[s] = None
                    send(s, "No channel named %s exists. Try '/create %s'?" % (words[1], words[1]))
                else:
                    leave(s, True)
                    enter(s, words[1])
            elif cmd == "/create":
                if len(words) < 2:
                    text = "/create command must be followed by the name of a channel to create"
                    send(s, text + "." if bug == "errortext" else text)
                elif words[1] in channels:
                    send(s, "Room %s already exists, so cannot be created." % words[1])
                else:
                    channels.append(words[1])
                    leave(s, True)
                    enter(s, words[1])
            else:
                send(s, "%s is not a valid control message. Valid messages are /create, /list, and /join." % cmd)
            return
        c = chan.get(s)
        if c is None:
            send(s, "Not currently in any channel. Must join a channel before sending messages.")
            return
        for m in members(c, None if bug == "echo" else s):
            send(m, "[%s] %s" % (names[s], msg))

    while True:
        ready, _, _ = select.select([ls] + list(bufs), [], [])
        for s in ready:
            if s is ls:
                conn, _ = ls.accept()
                bufs[conn] = b""
                if bug == "blocking":  # wait for the name: blocks everyone
                    data = b""
                    while len(data) < FRAME:
                        more = conn.recv(FRAME - len(data))
                        if not more:
                            break
                        data += more
                    bufs[conn] = data
                    while len(bufs[conn]) >= FRAME:
                        frame, bufs[conn] = bufs[conn][:FRAME], bufs[conn][FRAME:]
                        handle(conn, frame.decode(errors="replace").rstrip())
                continue
            data = s.recv(FRAME if bug in ("nobuffer", "exact200") else 4096)
            if not data:
                drop(s)
                continue
            if bug == "nobuffer":
                handle(s, data.decode(errors="replace").rstrip())
                continue
            bufs[s] += data
            if bug == "exact200":
                if len(bufs[s]) == FRAME:
                    frame, bufs[s] = bufs[s], b""
                    handle(s, frame.decode(errors="replace").rstrip())
                continue
            while s in bufs and len(bufs[s]) >= FRAME:
                frame, bufs[s] = bufs[s][:FRAME], bufs[s][FRAME:]
                text = frame.decode(errors="replace")
                if bug == "newlinecrash" and "\n" in text:
                    raise ValueError("a newline in a frame")
                handle(s, text.rstrip(" ") if variant == "spacesonly" else text.rstrip())


if __name__ == "__main__":
    main()
