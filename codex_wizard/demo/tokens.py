"""Made-up Codex credentials for the demo: unsigned JWTs in an auth.json shaped like Codex's.

Nothing here is a real token: every value is generated at run time and only ever names the
demo identity below. Stdlib only.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from ..core import clock

DEMO_EMAIL = "ada.lovelace@example.com"
DEMO_PLAN = "plus"
DEMO_ACCOUNT_ID = "acc-demo-5e2b7c41-9d0a-4f3e-8b6c-1a2d3e4f5a6b"
AUTH_CLAIM = "https://api.openai.com/auth"

FRESH_ACCESS_TTL_S = 10 * 86400
"""A fresh login's access token lives about 10 days (design doc)."""
EXISTING_EXPIRES_IN_S = 9 * 86400 + 4 * 3600 + 30 * 60
"""The pre-existing login expires in "9 days 4 hours" (the half hour keeps that label stable)."""
LAPTOP_EXPIRES_IN_S = 6 * 86400 + 2 * 3600 + 30 * 60
"""The laptop's own (made-up) login, for push-auth: expires in "6 days 2 hours"."""
_ID_TTL_S = 3600


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(claims: dict[str, Any]) -> str:
    """header.payload.signature with a random, meaningless signature."""
    header = {"alg": "RS256", "typ": "JWT", "kid": "codex-wizard-demo"}
    parts = (json.dumps(header).encode(), json.dumps(claims).encode(), secrets.token_bytes(32))
    return ".".join(_b64url(part) for part in parts)


def make_tokens(now: float, access_ttl_s: float, noise: str = "") -> dict[str, str]:
    """id, access and refresh tokens for the demo identity, issued at `now` (`noise` added to
    the plan and the email, for the hostile scenario)."""
    auth = {"chatgpt_plan_type": DEMO_PLAN + noise, "chatgpt_account_id": DEMO_ACCOUNT_ID}
    issued = int(now)
    access = make_jwt({"iat": issued, "exp": issued + int(access_ttl_s), AUTH_CLAIM: auth})
    id_token = make_jwt(
        {"iat": issued, "exp": issued + _ID_TTL_S, "email": DEMO_EMAIL + noise, AUTH_CLAIM: auth}
    )
    return {
        "id_token": id_token,
        "access_token": access,
        "refresh_token": "rt_DEMO" + secrets.token_urlsafe(32),
        "account_id": DEMO_ACCOUNT_ID,
    }


def demo_auth_json(
    *, expires_in_s: float = FRESH_ACCESS_TTL_S, now: float | None = None, noise: str = ""
) -> str:
    """A ChatGPT-mode auth.json whose access token expires `expires_in_s` after `now`.

    The tokens look issued `FRESH_ACCESS_TTL_S - expires_in_s` ago, as Codex would have.
    `noise` is added to its free-text fields (auth_mode, plan, email): the hostile scenario.
    """
    now = clock.now().timestamp() if now is None else now
    issued = now - max(0.0, FRESH_ACCESS_TTL_S - expires_in_s)
    doc = {
        "auth_mode": "chatgpt" + noise,
        "OPENAI_API_KEY": None,
        "tokens": make_tokens(issued, now + expires_in_s - issued, noise),
        "last_refresh": datetime.fromtimestamp(issued, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return json.dumps(doc, indent=2) + "\n"
