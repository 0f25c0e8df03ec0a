"""Run inside the lab namespace: hold 127.0.0.1:PORT with a process that is not a login server.

Usage: port_holder.py PORT MODE, MODE one of
  http   - answer every request with `404 Not Found` and close (a typical unrelated service)
  silent - accept connections and never answer (a wedged service)
Prints `ready` once listening. stdlib only.
"""

from __future__ import annotations

import socket
import sys
import threading

REPLY = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def serve(conn: socket.socket, mode: str) -> None:
    with conn:
        conn.settimeout(30)
        try:
            conn.recv(4096)
            if mode == "http":
                conn.sendall(REPLY)
            else:
                threading.Event().wait(3600)
        except OSError:
            return


def main(port: int, mode: str) -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    print("ready", flush=True)
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve, args=(conn, mode), daemon=True).start()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
