#!/usr/bin/env python3
"""Part 0's basic server, for the grader's tests: basic_server.py PORT
[--bug NAME]. --bug firstrecv prints only what the first recv() returned,
not the whole message; --bug oneclient serves one client and exits."""
import socket
import sys

bug = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--bug" else ""
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("", int(sys.argv[1])))
ls.listen(5)
while True:
    conn, _ = ls.accept()
    data = b""
    while True:
        more = conn.recv(1024)
        data += more
        if not more or bug == "firstrecv":
            break
    conn.close()
    sys.stdout.write(data.decode(errors="replace").rstrip("\n") + "\n")
    sys.stdout.flush()
    if bug == "oneclient":
        break
