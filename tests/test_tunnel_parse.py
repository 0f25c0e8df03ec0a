"""What the tunnel reads from the bytes it passes: request paths (no query) and answers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from codex_wizard.core.server.tunnel import parse_request_line, parse_response_head


def test_request_line_drops_the_query() -> None:
    chunk = b"GET /auth/callback?code=SECRET&state=abc HTTP/1.1\r\nHost: 127.0.0.1:1455\r\n\r\n"
    assert parse_request_line(chunk) == ("GET", "/auth/callback")


def test_not_a_request() -> None:
    assert parse_request_line(b"\x16\x03\x01 TLS hello") is None
    assert parse_request_line(b"") is None


def test_state_mismatch_answer() -> None:
    chunk = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 14\r\n\r\nState mismatch"
    assert parse_response_head(chunk) == (400, "State mismatch")
    assert parse_response_head(b"HTTP/1.1 302 Found\r\nLocation: /success\r\n\r\n") == (302, "")
    assert parse_response_head(b"garbage") is None


@given(st.binary())
def test_parsers_never_raise(data: bytes) -> None:
    parse_request_line(data)
    parse_response_head(data)
