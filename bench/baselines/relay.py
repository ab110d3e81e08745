"""The same relay in Python, in the style of the socket example parley grew
from: one connection, bytes copied between it and stdin/stdout."""

import os
import socket
import sys
import threading

port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(1)
print(f"listening on 127.0.0.1:{listener.getsockname()[1]}", file=sys.stderr, flush=True)
conn, _ = listener.accept()
listener.close()
conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def upstream():
    while True:
        data = os.read(0, 65536)
        if not data:
            break
        conn.sendall(data)


threading.Thread(target=upstream, daemon=True).start()
while True:
    data = conn.recv(65536)
    if not data:
        break
    os.write(1, data)
conn.close()
