"""Parse the Codex CLI's ``auth.json`` into a typed, secret-free record.

Pure and stdlib-only: no I/O here. The caller reads the file (over SSH or locally) and hands us
its bytes and, when known, its permission bits. Bad input never raises: every problem becomes a
`AuthKind.MALFORMED` record or a `TokenInfo.problem`, with a message fit to show a user.

Security: the records keep only masked forms of tokens, the refresh token and the API key, so no
``str``/``repr`` of them (and no message built here) can leak a credential. JWT signatures are not
checked; we only read claims to show expiry, plan and account.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from .. import clock
from ..sanitize import printable

MAX_AUTH_BYTES = 1_000_000
"""Anything larger than this cannot be a Codex auth.json; we refuse to parse it."""

AUTH_CLAIM = "https://api.openai.com/auth"
PROFILE_CLAIM = "https://api.openai.com/profile"

LOGIN_ID_HEX = 12

_ELLIPSIS = "…"
HIDDEN = "•••"
_MAX_FIELD_CHARS = 64


class AuthKind(StrEnum):
    """What sort of credentials auth.json holds."""

    CHATGPT = "chatgpt"
    API_KEY = "api_key"
    MISSING = "missing"
    MALFORMED = "malformed"


class JwtError(ValueError):
    """A token is not a decodable JWT. The message never contains the token."""


@dataclass(frozen=True)
class TokenInfo:
    """What we learned from one JWT, without keeping the token itself."""

    expires_at: datetime | None
    issued_at: datetime | None
    problem: str | None
    masked: str


@dataclass(frozen=True)
class AuthRecord:
    """A parsed auth.json. Holds masked forms only, never a usable credential.

    `auth_mode` is the file's own ``auth_mode`` string (None when absent); `kind` is what the
    contents actually are, so tokens win over an API key when both are present.
    """

    kind: AuthKind
    auth_mode: str | None = None
    access: TokenInfo | None = None
    id: TokenInfo | None = None
    has_refresh_token: bool = False
    last_refresh: datetime | None = None
    plan: str | None = None
    email_masked: str | None = None
    account_masked: str | None = None
    api_key_masked: str | None = None
    file_mode: int | None = None
    problem: str | None = None
    login_id: str | None = None

    def since_refresh_s(self, now: datetime | None = None) -> float | None:
        """Seconds since codex last renewed the tokens (last_refresh); None when unknown."""
        if self.last_refresh is None:
            return None
        return (aware(now) - self.last_refresh).total_seconds()

    def expires_in_s(self, now: datetime | None = None) -> float | None:
        """Seconds until the access token expires (negative once past); None when unknown."""
        if self.access is None or self.access.expires_at is None:
            return None
        return (self.access.expires_at - aware(now)).total_seconds()

    def file_mode_warning(self) -> str | None:
        """A fix-it message when group or others may read the file, else None."""
        if self.file_mode is None or not self.file_mode & 0o077:
            return None
        return (
            f"auth.json is mode {self.file_mode:04o}; it holds secrets: "
            "chmod 600 ~/.codex/auth.json"
        )


# ---------------------------------------------------------------------------- masking & text


def mask_secret(value: str, *, head: int = 6, tail: int = 4) -> str:
    """A short, safe form of a secret: first `head` + "…" + last `tail` characters.

    Only secrets at least three times as long as the shown part keep a head and tail (so at
    most a third is ever revealed); shorter ones, and non-strings, become "•••".
    """
    if not isinstance(value, str) or head < 0 or tail < 0:
        return HIDDEN
    if len(value) < 3 * (head + tail) or head + tail == 0:
        return HIDDEN
    end = value[len(value) - tail :] if tail else ""
    return printable(f"{value[:head]}{_ELLIPSIS}{end}", keep_newlines=False)


def mask_email(value: str) -> str:
    """``ada.lovelace@example.com`` -> ``ad***@example.com``; not an address -> "•••"."""
    if not isinstance(value, str):
        return HIDDEN
    local, at, domain = printable(value, keep_newlines=False).strip().rpartition("@")
    if not at or not local or not domain:
        return HIDDEN
    shown = local[:2] if len(local) > 2 else local[:1]
    return f"{shown}***@{_clip(domain)}"


def login_fingerprint(refresh_token: str) -> str:
    """A login's id: the first 12 hex digits of SHA-256 of its refresh token (never the token).

    Two files with one id hold one login: refresh tokens rotate and are single-use, so the
    first copy to renew logs the others out.
    """
    return hashlib.sha256(refresh_token.strip().encode()).hexdigest()[:LOGIN_ID_HEX]


def _clip(text: str) -> str:
    """Bound a free-text value from the file so a hostile file cannot flood the UI (or drive
    the terminal)."""
    text = printable(text, keep_newlines=False)
    return text if len(text) <= _MAX_FIELD_CHARS else text[: _MAX_FIELD_CHARS - 1] + _ELLIPSIS


def aware(moment: datetime | None) -> datetime:
    """`moment` as an aware datetime (naive = UTC); None means now."""
    if moment is None:
        return clock.now()
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _json_type(value: Any) -> str:
    """The JSON name of a value's type, for messages ("an array", "a string" ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# ---------------------------------------------------------------------------- JWTs


def decode_jwt_claims(token: str) -> dict:
    """The claims (payload) of a JWT, unverified. Raises JwtError with a token-free message."""
    if not isinstance(token, str):
        raise JwtError("not a JWT (expected a string)")
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise JwtError("not a JWT (expected 3 dot-separated parts)")
    raw = _b64url_decode(parts[1])
    try:
        claims = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise JwtError("payload is not JSON") from None
    if not isinstance(claims, dict):
        raise JwtError(f"payload is not a JSON object (found {_json_type(claims)})")
    return claims


def _b64url_decode(segment: str) -> bytes:
    """Decode unpadded base64url strictly (no silently skipped characters)."""
    body = segment.rstrip("=")
    if not body or len(body) % 4 == 1:
        raise JwtError("payload is not valid base64url")
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
    except ValueError:
        raise JwtError("payload is not valid base64url") from None


def _claim_time(claims: dict, name: str) -> tuple[datetime | None, str | None]:
    """A NumericDate claim as aware UTC, or a problem message."""
    if name not in claims or claims[name] is None:
        return None, f"no {name} claim"
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, f"{name} is not a number"
    try:
        return datetime.fromtimestamp(value, tz=UTC), None
    except (OverflowError, OSError, ValueError):
        return None, f"{name} is out of range"


def _token_info(token: str) -> tuple[TokenInfo, dict]:
    """Decode one token into a TokenInfo plus its claims ({} when undecodable)."""
    masked = mask_secret(token)
    try:
        claims = decode_jwt_claims(token)
    except JwtError as exc:
        return TokenInfo(None, None, str(exc), masked), {}
    expires_at, problem = _claim_time(claims, "exp")
    issued_at, _ = _claim_time(claims, "iat")
    return TokenInfo(expires_at, issued_at, problem, masked), claims


# ---------------------------------------------------------------------------- auth.json


def parse_auth_json(data: bytes | None, *, file_mode: int | None = None) -> AuthRecord:
    """Turn auth.json's bytes (None = no file) into an AuthRecord. Never raises."""
    mode = file_mode & 0o777 if isinstance(file_mode, int) else None
    try:
        return _parse(data, mode)
    except Exception as exc:  # last resort: the contract is "never raises"
        return _malformed(f"could not parse auth.json ({type(exc).__name__})", mode)


def _malformed(problem: str, mode: int | None, auth_mode: str | None = None) -> AuthRecord:
    return AuthRecord(AuthKind.MALFORMED, auth_mode=auth_mode, file_mode=mode, problem=problem)


def _parse(data: bytes | None, mode: int | None) -> AuthRecord:
    if data is None:
        return AuthRecord(AuthKind.MISSING, file_mode=mode)
    doc, problem = _load_document(data)
    if problem is not None:
        return _malformed(problem, mode)
    return _from_document(doc, mode)


def _load_document(data: bytes) -> tuple[dict, str | None]:
    """The top-level JSON object, or a problem message."""
    if not isinstance(data, bytes | bytearray | memoryview):
        return {}, f"auth.json contents must be bytes, not {type(data).__name__}"
    data = bytes(data)
    if len(data) > MAX_AUTH_BYTES:
        size = len(data)
        return {}, f"auth.json is larger than 1 MB ({size} bytes); not a Codex credentials file"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return {}, f"auth.json is not UTF-8 text (bad byte at offset {exc.start})"
    if not text.strip():
        return {}, "auth.json is empty"
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        return {}, f"auth.json is not valid JSON ({exc.msg} at {where})"
    except (ValueError, RecursionError):
        return {}, "auth.json is not valid JSON (too deeply nested or too large a number)"
    if not isinstance(doc, dict):
        return {}, f"auth.json is not a JSON object (found {_json_type(doc)})"
    return doc, None


def _from_document(doc: dict, mode: int | None) -> AuthRecord:
    """Classify a decoded document: tokens win, then an API key, else MALFORMED."""
    auth_mode = _clip(doc["auth_mode"]) if isinstance(doc.get("auth_mode"), str) else None
    api_key = doc.get("OPENAI_API_KEY")
    api_key_masked = mask_secret(api_key, head=3) if _nonblank(api_key) else None
    tokens = doc.get("tokens")
    access_raw = tokens.get("access_token") if isinstance(tokens, dict) else None
    if _nonblank(access_raw):
        return _chatgpt_record(doc, tokens, auth_mode, api_key_masked, mode)
    if api_key_masked is not None:
        return AuthRecord(
            AuthKind.API_KEY,
            auth_mode=auth_mode,
            last_refresh=_parse_timestamp(doc.get("last_refresh")),
            api_key_masked=api_key_masked,
            file_mode=mode,
        )
    return _malformed(_no_credentials_reason(doc, tokens), mode, auth_mode)


def _no_credentials_reason(doc: dict, tokens: Any) -> str:
    """Why a document with neither usable tokens nor an API key is unusable."""
    if tokens is None:
        how = "is null" if "tokens" in doc else "is missing"
        return f"auth.json holds no credentials: tokens {how} and OPENAI_API_KEY is not set"
    if not isinstance(tokens, dict):
        return f"tokens is not a JSON object (found {_json_type(tokens)})"
    access = tokens.get("access_token")
    if access is None:
        return "tokens has no access_token"
    if not isinstance(access, str):
        return f"access_token is not a string (found {_json_type(access)})"
    return "access_token is empty"


def _chatgpt_record(
    doc: dict, tokens: dict, auth_mode: str | None, api_key_masked: str | None, mode: int | None
) -> AuthRecord:
    access, access_claims = _token_info(tokens["access_token"])
    refresh = tokens.get("refresh_token")
    id_info, id_claims = (None, {})
    if _nonblank(tokens.get("id_token")):
        id_info, id_claims = _token_info(tokens["id_token"])
    problems = [
        f"{label} token: {info.problem}"
        for label, info in (("access", access), ("id", id_info))
        if info is not None and info.problem
    ]
    return AuthRecord(
        AuthKind.CHATGPT,
        auth_mode=auth_mode,
        access=access,
        id=id_info,
        has_refresh_token=_nonblank(refresh),
        login_id=login_fingerprint(refresh) if _nonblank(refresh) else None,
        last_refresh=_parse_timestamp(doc.get("last_refresh")),
        plan=_first_str(*(_auth_claim(c, "chatgpt_plan_type") for c in (id_claims, access_claims))),
        email_masked=_masked_email(id_claims, access_claims),
        account_masked=_masked_account(tokens, id_claims, access_claims),
        api_key_masked=api_key_masked,
        file_mode=mode,
        problem="; ".join(problems) or None,
    )


def _nonblank(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _first_str(*values: Any) -> str | None:
    """The first non-blank string among `values`, clipped."""
    for value in values:
        if _nonblank(value):
            return _clip(value)
    return None


def _auth_claim(claims: dict, key: str) -> Any:
    section = claims.get(AUTH_CLAIM)
    return section.get(key) if isinstance(section, dict) else None


def _masked_email(id_claims: dict, access_claims: dict) -> str | None:
    """The id token's email, else the access token's profile email, masked."""
    profile = access_claims.get(PROFILE_CLAIM)
    profile_email = profile.get("email") if isinstance(profile, dict) else None
    for candidate in (id_claims.get("email"), profile_email):
        if _nonblank(candidate):
            return mask_email(candidate)
    return None


def _masked_account(tokens: dict, id_claims: dict, access_claims: dict) -> str | None:
    """tokens.account_id, else the chatgpt_account_id claim, masked."""
    for candidate in (
        tokens.get("account_id"),
        _auth_claim(id_claims, "chatgpt_account_id"),
        _auth_claim(access_claims, "chatgpt_account_id"),
    ):
        if _nonblank(candidate):
            return mask_secret(candidate.strip())
    return None


def _parse_timestamp(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` or offset; naive = UTC) as aware UTC; None if unparsable."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
        return aware(moment).astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None


def auth_path_for(codex_home: str | None) -> str:
    """auth.json's path: relative to the login directory unless codex_home is absolute."""
    home = (codex_home or ".codex").removeprefix("~/")
    return f"{home.rstrip('/')}/auth.json"
