"""Run inside the lab namespace: one HTTP request, the reply as JSON on stdout. stdlib only.

Usage: nshttp.py METHOD PORT PATH [TIMEOUT]. Redirects are not followed. On a connection error
the JSON carries `error` instead of `status`.
"""

from __future__ import annotations

import http.client
import json
import sys


def request(method: str, port: int, path: str, timeout: float) -> dict[str, object]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        return {"status": resp.status, "headers": dict(resp.getheaders()), "body": body}
    except OSError as err:
        return {"error": f"{type(err).__name__}: {err}"}
    finally:
        conn.close()


def main(argv: list[str]) -> int:
    timeout = float(argv[4]) if len(argv) > 4 else 15.0
    print(json.dumps(request(argv[1], int(argv[2]), argv[3], timeout)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
