#!/usr/bin/env python3
"""Part 0's basic client, for the grader's tests: basic_client.py HOST PORT
[--bug readall]. --bug readall reads all of stdin (to its end) before
sending, instead of one line."""
import socket
import sys

host, port = sys.argv[1], sys.argv[2]
bug = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--bug" else ""
try:
    s = socket.create_connection((host, int(port)))
except OSError:
    print("Unable to connect to %s:%s" % (host, port))
    sys.exit(1)
message = sys.stdin.read() if bug == "readall" else sys.stdin.readline()
s.sendall(message.encode())
s.close()
