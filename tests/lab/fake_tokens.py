"""Fake Codex credentials for tests: unsigned JWTs and auth.json documents.

Standalone on purpose (stdlib only): the fake `codex` on the lab server imports it too.
No real token exists anywhere in this repository; every token here is made up at run time.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

AUTH_CLAIM = "https://api.openai.com/auth"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(claims: dict[str, Any], *, signature: str = "fake-signature") -> str:
    """An unsigned-looking JWT (header.payload.signature) carrying `claims`."""
    header = {"alg": "RS256", "typ": "JWT", "kid": "test"}
    return ".".join(
        [
            _b64url(json.dumps(header).encode()),
            _b64url(json.dumps(claims).encode()),
            _b64url(signature.encode()),
        ]
    )


def make_tokens(
    *,
    now: float | None = None,
    access_ttl_s: float = 10 * 86400,
    id_ttl_s: float = 3600,
    email: str = "ada.lovelace@example.com",
    account_id: str = "acc-0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    plan: str = "plus",
    tag: str = "t",
) -> dict[str, str]:
    """id/access/refresh tokens whose expiries are `now + ttl`. `tag` makes each set unique."""
    now = time.time() if now is None else now
    auth = {"chatgpt_plan_type": plan, "chatgpt_account_id": account_id}
    access = make_jwt(
        {"iat": int(now), "exp": int(now + access_ttl_s), AUTH_CLAIM: auth, "jti": f"acc-{tag}"}
    )
    id_token = make_jwt(
        {"iat": int(now), "exp": int(now + id_ttl_s), "email": email, AUTH_CLAIM: auth}
    )
    return {
        "id_token": id_token,
        "access_token": access,
        "refresh_token": f"rt_FAKE{tag}ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "account_id": account_id,
    }


def make_auth_json(*, last_refresh: str = "2026-11-20T08:00:00Z", **token_args: Any) -> str:
    """A ChatGPT-mode auth.json document, as Codex writes it."""
    doc = {
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": None,
        "tokens": make_tokens(**token_args),
        "last_refresh": last_refresh,
    }
    return json.dumps(doc, indent=2)


def secrets_in(auth_json: str) -> list[str]:
    """Every secret string in an auth.json document, for leak scans."""
    doc = json.loads(auth_json)
    tokens = doc.get("tokens") or {}
    found = [tokens.get(k) for k in ("id_token", "access_token", "refresh_token")]
    found.append(doc.get("OPENAI_API_KEY"))
    return [s for s in found if isinstance(s, str) and s]
