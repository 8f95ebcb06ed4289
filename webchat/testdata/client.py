#!/usr/bin/env python3
"""A webchat client written from PROTOCOL.md alone, with Python's standard
library only (a minimal WebSocket client: RFC 6455, text frames, masked).

    client.py ws://HOST:PORT/chat NAME ROOM LINE

It says hello as NAME, joins ROOM, lists its members, fetches the newest
history, says LINE, and prints one JSON summary."""
import base64, json, os, socket, struct, sys
from urllib.parse import urlparse


class WebSocket:
    def __init__(self, url):
        u = urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise SystemExit("handshake refused: " + head.decode(errors="replace"))

    def _read(self, n):
        b = b""
        while len(b) < n:
            chunk = self.sock.recv(n - len(b))
            if not chunk:
                raise EOFError
            b += chunk
        return b

    def send(self, obj):
        data = json.dumps(obj).encode()
        head = bytes([0x81])  # FIN, text
        if len(data) < 126:
            head += bytes([0x80 | len(data)])
        elif len(data) < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", len(data))
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", len(data))
        mask = os.urandom(4)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self):
        """The next event (a dict); pings are answered, None on close."""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(n)
            op = b0 & 0x0F
            if op == 8:
                return None
            if op == 9:  # ping: pong with the same payload
                self.sock.sendall(bytes([0x8A, 0x80 | n]) + b"\0\0\0\0" + payload)
                continue
            if op in (1, 2):
                return json.loads(payload)


def main():
    url, name, room, line = sys.argv[1:5]
    ws = WebSocket(url)
    assert ws.recv()["ev"] == "hello"

    def call(req):
        """Send req with an id; return the event that answers it, keeping the others."""
        call.n += 1
        req["id"] = call.n
        ws.send(req)
        while True:
            ev = ws.recv()
            if ev.get("id") == call.n:
                return ev
            seen.append(ev)
    call.n = 0
    seen = []

    welcome = call({"op": "hello", "v": 1, "name": name})
    joined = call({"op": "join", "room": room})
    members = call({"op": "members", "room": room})
    history = call({"op": "history", "room": room, "limit": 50})
    done = call({"op": "say", "room": room, "text": line})
    assert done["ev"] == "done", done
    # Your own line comes back as every member gets it, before the "done".
    said = next(ev for ev in reversed(seen) if ev.get("ev") == "line" and ev.get("from") == welcome["name"])
    bad = call({"op": "say", "room": "no-such-room-here", "text": line})
    print(json.dumps({
        "welcome": welcome["ev"], "joined": joined["ev"], "members": members.get("members"),
        "history": [(l["from"], l["text"], l["offset"]) for l in history.get("lines", [])],
        "said_offset": said.get("offset"), "error": bad.get("code"),
    }))
    call({"op": "quit"})


main()
