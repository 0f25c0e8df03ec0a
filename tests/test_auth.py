"""Unit and property tests for codex_wizard.core.tokens.auth (parsing Codex's auth.json)."""

from __future__ import annotations

import base64
import json
import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codex_wizard.core.tokens.auth import (
    MAX_AUTH_BYTES,
    AuthKind,
    AuthRecord,
    JwtError,
    TokenInfo,
    decode_jwt_claims,
    mask_email,
    mask_secret,
    parse_auth_json,
)
from codex_wizard.core.tokens.state import (
    TokenState,
    describe_expiry,
    humanize_duration,
    renews_on_use,
    token_state,
)
from tests.lab.fake_tokens import make_auth_json, make_jwt, make_tokens, secrets_in

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
DAY = 86400
API_KEY = "sk-proj-FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEAbCd"


def doc_bytes(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def tokens_doc(**overrides: Any) -> dict[str, Any]:
    """A ChatGPT-mode document built from make_tokens at NOW; `overrides` replace top-level keys."""
    doc: dict[str, Any] = {
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": None,
        "tokens": make_tokens(now=NOW.timestamp()),
        "last_refresh": "2026-11-20T08:00:00Z",
    }
    doc.update(overrides)
    return doc


def with_tokens(**token_overrides: Any) -> dict[str, Any]:
    """tokens_doc() with some entries of `tokens` replaced (None values are kept as null)."""
    tokens = make_tokens(now=NOW.timestamp())
    tokens.update(token_overrides)
    return tokens_doc(tokens=tokens)


def parse_doc(doc: Any, **kwargs: Any) -> AuthRecord:
    return parse_auth_json(doc_bytes(doc), **kwargs)


def record_text(record: AuthRecord) -> str:
    return f"{record!r}\n{record!s}\n{record.problem}\n{record.file_mode_warning()}"


def assert_no_leak(record: AuthRecord, secrets: list[str]) -> None:
    text = record_text(record)
    for secret in secrets:
        assert secret not in text


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_with_payload(payload: str) -> str:
    return f"{b64url(b'{}')}.{payload}.{b64url(b'sig')}"


# ---------------------------------------------------------------------------- happy path


class TestChatgptRecord:
    def test_fields_of_a_fresh_login(self) -> None:
        text = make_auth_json(now=NOW.timestamp())
        record = parse_auth_json(text.encode(), file_mode=0o100600)

        assert record.kind is AuthKind.CHATGPT
        assert record.auth_mode == "chatgpt"
        assert record.has_refresh_token is True
        assert record.plan == "plus"
        assert record.email_masked == "ad***@example.com"
        assert record.account_masked == "acc-0f…e1f0"
        assert record.api_key_masked is None
        assert record.file_mode == 0o600
        assert record.problem is None
        assert record.last_refresh == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

    def test_token_infos(self) -> None:
        record = parse_doc(tokens_doc())
        assert isinstance(record.access, TokenInfo)
        assert isinstance(record.id, TokenInfo)
        assert record.access.expires_at == NOW + timedelta(days=10)
        assert record.access.issued_at == NOW
        assert record.id.expires_at == NOW + timedelta(hours=1)
        assert record.access.problem is None
        assert record.access.masked.startswith("eyJ")
        assert "…" in record.access.masked
        assert len(record.access.masked) == 11

    def test_datetimes_are_aware_utc(self) -> None:
        record = parse_doc(tokens_doc(last_refresh="2026-11-20T10:00:00+02:00"))
        assert record.access is not None and record.id is not None
        for moment in (
            record.access.expires_at,
            record.access.issued_at,
            record.id.expires_at,
            record.last_refresh,
        ):
            assert moment is not None
            assert moment.tzinfo is UTC

    def test_unknown_fields_are_ignored(self) -> None:
        doc = tokens_doc(extra={"nested": [1, 2]}, version=3)
        doc["tokens"]["something_new"] = "value"
        record = parse_doc(doc)
        assert record.kind is AuthKind.CHATGPT
        assert record.problem is None
        assert token_state(record, NOW) is TokenState.OK

    def test_missing_auth_mode_is_inferred_from_tokens(self) -> None:
        doc = tokens_doc()
        del doc["auth_mode"]
        record = parse_doc(doc)
        assert record.kind is AuthKind.CHATGPT
        assert record.auth_mode is None

    def test_api_key_and_tokens_means_chatgpt_but_key_is_masked(self) -> None:
        record = parse_doc(tokens_doc(OPENAI_API_KEY=API_KEY, auth_mode="apikey"))
        assert record.kind is AuthKind.CHATGPT
        assert record.auth_mode == "apikey"
        assert record.api_key_masked == "sk-…AbCd"
        assert token_state(record, NOW) is TokenState.OK

    def test_no_refresh_token(self) -> None:
        assert parse_doc(with_tokens(refresh_token=None)).has_refresh_token is False
        assert parse_doc(with_tokens(refresh_token="")).has_refresh_token is False

    def test_utf8_bom_is_accepted(self) -> None:
        record = parse_auth_json(b"\xef\xbb\xbf" + doc_bytes(tokens_doc()))
        assert record.kind is AuthKind.CHATGPT

    def test_plan_and_account_fall_back_to_access_token_claims(self) -> None:
        tokens = make_tokens(
            now=NOW.timestamp(), plan="pro", account_id="acc-FALLBACK-1234567890-abcdef"
        )
        del tokens["id_token"]
        del tokens["account_id"]
        record = parse_doc(tokens_doc(tokens=tokens))
        assert record.id is None
        assert record.plan == "pro"
        assert record.account_masked == "acc-FA…cdef"
        assert record.email_masked is None

    def test_email_falls_back_to_access_token_profile_claim(self) -> None:
        access = make_jwt(
            {
                "exp": int(NOW.timestamp()) + 10 * DAY,
                "https://api.openai.com/profile": {"email": "grace@navy.mil"},
            }
        )
        record = parse_doc(tokens_doc(tokens={"access_token": access}))
        assert record.email_masked == "gr***@navy.mil"
        assert record.plan is None
        assert record.account_masked is None


# ---------------------------------------------------------------------------- state()


def without_refresh(**token_args: Any) -> dict[str, Any]:
    tokens = make_tokens(now=NOW.timestamp(), **token_args)
    del tokens["refresh_token"]
    return tokens_doc(tokens=tokens)


class TestState:
    @pytest.mark.parametrize(
        ("access_ttl_s", "expected"),
        [
            (10 * DAY, TokenState.OK),
            (DAY, TokenState.OK),
            (301, TokenState.OK),
            (300, TokenState.RENEWS),
            (60, TokenState.RENEWS),
            (0, TokenState.RENEWS),
            (-2 * DAY, TokenState.RENEWS),
        ],
    )
    def test_with_refresh_token(self, access_ttl_s: float, expected: TokenState) -> None:
        tokens = make_tokens(now=NOW.timestamp(), access_ttl_s=access_ttl_s)
        record = parse_doc(tokens_doc(tokens=tokens))
        assert token_state(record, NOW) is expected
        assert renews_on_use(record, NOW) is (expected is TokenState.RENEWS)

    @pytest.mark.parametrize(
        ("access_ttl_s", "expected"),
        [
            (10 * DAY, TokenState.OK),
            (3 * DAY + 60, TokenState.OK),
            (3 * DAY - 60, TokenState.EXPIRING),
            (60, TokenState.EXPIRING),
            (0, TokenState.EXPIRED),
            (-2 * 3600, TokenState.EXPIRED),
        ],
    )
    def test_without_refresh_token(self, access_ttl_s: float, expected: TokenState) -> None:
        record = parse_doc(without_refresh(access_ttl_s=access_ttl_s))
        assert token_state(record, NOW) is expected
        assert not renews_on_use(record, NOW)

    @pytest.mark.parametrize(
        ("last_refresh", "expected"),
        [
            ("2026-11-16T11:00:00Z", TokenState.RENEWS),  # 9 days ago: codex renews
            ("2026-11-20T08:00:00Z", TokenState.ERROR),  # 5 days ago: it would not
            (None, TokenState.ERROR),
        ],
    )
    def test_unreadable_exp_falls_back_to_last_refresh(
        self, last_refresh: str | None, expected: TokenState
    ) -> None:
        tokens = make_tokens(now=NOW.timestamp())
        tokens["access_token"] = make_jwt({"iat": 1})
        record = parse_doc(tokens_doc(tokens=tokens, last_refresh=last_refresh))
        assert token_state(record, NOW) is expected

    def test_warn_days_only_matter_without_a_refresh_token(self) -> None:
        assert token_state(parse_doc(tokens_doc()), NOW, warn_days=11) is TokenState.OK
        record = parse_doc(without_refresh())  # 10 days left
        assert token_state(record, NOW, warn_days=11) is TokenState.EXPIRING
        assert token_state(record, NOW, warn_days=0) is TokenState.OK

    def test_id_token_expiry_does_not_matter(self) -> None:
        tokens = make_tokens(now=NOW.timestamp(), id_ttl_s=-DAY)
        assert token_state(parse_doc(tokens_doc(tokens=tokens)), NOW) is TokenState.OK

    def test_default_now_is_the_clock(self) -> None:
        fresh = parse_auth_json(make_auth_json().encode())
        assert token_state(fresh) is TokenState.OK
        stale = parse_auth_json(make_auth_json(access_ttl_s=-60).encode())
        assert token_state(stale) is TokenState.RENEWS

    def test_since_refresh_s(self) -> None:
        record = parse_doc(tokens_doc())
        assert record.since_refresh_s(NOW) == pytest.approx(5 * DAY + 4 * 3600)
        assert parse_doc(tokens_doc(last_refresh=None)).since_refresh_s(NOW) is None

    def test_naive_now_is_utc(self) -> None:
        record = parse_doc(tokens_doc())
        naive = NOW.replace(tzinfo=None)
        assert record.expires_in_s(naive) == pytest.approx(10 * DAY)

    def test_expires_in_s(self) -> None:
        record = parse_doc(tokens_doc())
        assert record.expires_in_s(NOW) == pytest.approx(10 * DAY)
        assert record.expires_in_s(NOW + timedelta(days=11)) == pytest.approx(-DAY)

    def test_expires_in_s_unknown(self) -> None:
        assert parse_auth_json(None).expires_in_s(NOW) is None
        assert parse_doc({"OPENAI_API_KEY": API_KEY}).expires_in_s(NOW) is None
        assert parse_doc(with_tokens(access_token="garbage")).expires_in_s(NOW) is None

    def test_missing_file_is_logged_out(self) -> None:
        record = parse_auth_json(None, file_mode=0o600)
        assert record.kind is AuthKind.MISSING
        assert token_state(record, NOW) is TokenState.LOGGED_OUT
        assert record.problem is None
        assert record.file_mode == 0o600

    def test_malformed_is_error(self) -> None:
        assert token_state(parse_auth_json(b"{"), NOW) is TokenState.ERROR


# ---------------------------------------------------------------------------- API key mode


class TestApiKey:
    def test_api_key_mode_with_null_tokens(self) -> None:
        doc = {"auth_mode": "apikey", "OPENAI_API_KEY": API_KEY, "tokens": None}
        record = parse_doc(doc)
        assert record.kind is AuthKind.API_KEY
        assert token_state(record, NOW) is TokenState.API_KEY
        assert record.api_key_masked == "sk-…AbCd"
        assert record.access is None and record.id is None
        assert record.has_refresh_token is False
        assert record.problem is None

    def test_auth_mode_missing_inferred_from_key(self) -> None:
        record = parse_doc({"OPENAI_API_KEY": API_KEY})
        assert record.kind is AuthKind.API_KEY
        assert record.auth_mode is None

    def test_api_key_wins_over_unusable_tokens(self) -> None:
        for tokens in ({}, [], "x", {"refresh_token": "rt_x"}):
            record = parse_doc({"OPENAI_API_KEY": API_KEY, "tokens": tokens})
            assert record.kind is AuthKind.API_KEY, tokens

    def test_blank_api_key_is_not_a_key(self) -> None:
        record = parse_doc({"OPENAI_API_KEY": "   ", "tokens": None})
        assert record.kind is AuthKind.MALFORMED

    def test_short_api_key_is_fully_hidden(self) -> None:
        record = parse_doc({"OPENAI_API_KEY": "sk-short"})
        assert record.api_key_masked == "•••"


# ---------------------------------------------------------------------------- malformed files


class TestMalformed:
    @pytest.mark.parametrize(
        ("data", "fragment"),
        [
            (b"\xff\xfe{}", "not UTF-8"),
            (b"", "empty"),
            (b"  \n\t ", "empty"),
            (b"{not json", "not valid JSON"),
            (b'{"tokens": }', "line 1 column"),
            (b"[1, 2]", "not a JSON object (found an array)"),
            (b'"text"', "found a string"),
            (b"42", "found a number"),
            (b"null", "found null"),
            (b"[" * 100_000, "not valid JSON"),
        ],
    )
    def test_bad_files(self, data: bytes, fragment: str) -> None:
        record = parse_auth_json(data)
        assert record.kind is AuthKind.MALFORMED
        assert token_state(record, NOW) is TokenState.ERROR
        assert record.problem is not None and fragment in record.problem

    def test_too_large(self) -> None:
        data = b" " * (MAX_AUTH_BYTES + 1)
        record = parse_auth_json(data)
        assert record.kind is AuthKind.MALFORMED
        assert record.problem is not None
        assert record.problem.startswith("auth.json is larger than 1 MB")

    def test_exactly_max_size_is_parsed(self) -> None:
        body = doc_bytes(tokens_doc())
        data = body + b" " * (MAX_AUTH_BYTES - len(body))
        assert parse_auth_json(data).kind is AuthKind.CHATGPT

    @pytest.mark.parametrize(
        ("doc", "fragment"),
        [
            ({"auth_mode": "chatgpt", "tokens": None}, "tokens is null"),
            ({"auth_mode": "chatgpt"}, "tokens is missing"),
            ({}, "holds no credentials"),
            ({"tokens": ["a"]}, "tokens is not a JSON object (found an array)"),
            ({"tokens": "eyJ"}, "tokens is not a JSON object (found a string)"),
            ({"tokens": {}}, "tokens has no access_token"),
            ({"tokens": {"id_token": "x", "access_token": None}}, "no access_token"),
            ({"tokens": {"access_token": 12}}, "access_token is not a string (found a number)"),
            ({"tokens": {"access_token": ""}}, "access_token is empty"),
        ],
    )
    def test_unusable_documents(self, doc: dict[str, Any], fragment: str) -> None:
        record = parse_doc(doc)
        assert record.kind is AuthKind.MALFORMED
        assert record.problem is not None and fragment in record.problem

    def test_auth_mode_kept_on_malformed(self) -> None:
        assert parse_doc({"auth_mode": "chatgpt", "tokens": None}).auth_mode == "chatgpt"

    def test_non_bytes_input_is_malformed_not_an_exception(self) -> None:
        record = parse_auth_json("{}")  # type: ignore[arg-type]
        assert record.kind is AuthKind.MALFORMED
        assert record.problem is not None and "bytes" in record.problem

    def test_bytearray_is_accepted(self) -> None:
        assert parse_auth_json(bytearray(doc_bytes(tokens_doc()))).kind is AuthKind.CHATGPT


# ---------------------------------------------------------------------------- bad tokens


class TestBadTokens:
    @pytest.mark.parametrize(
        ("access_token", "problem"),
        [
            ("not-a-jwt", "not a JWT (expected 3 dot-separated parts)"),
            ("a.b", "not a JWT (expected 3 dot-separated parts)"),
            ("a.b.c.d", "not a JWT (expected 3 dot-separated parts)"),
            (jwt_with_payload("!!!***"), "payload is not valid base64url"),
            (jwt_with_payload("abcde"), "payload is not valid base64url"),
            (jwt_with_payload(""), "payload is not valid base64url"),
            (jwt_with_payload(b64url(b"not json{")), "payload is not JSON"),
            (jwt_with_payload(b64url(b"\xff\xfe")), "payload is not JSON"),
            (jwt_with_payload(b64url(b"[1]")), "payload is not a JSON object (found an array)"),
            (make_jwt({"iat": 1}), "no exp claim"),
            (make_jwt({"exp": None}), "no exp claim"),
            (make_jwt({"exp": "1800000000"}), "exp is not a number"),
            (make_jwt({"exp": True}), "exp is not a number"),
            (make_jwt({"exp": [1]}), "exp is not a number"),
            (make_jwt({"exp": 1e300}), "exp is out of range"),
        ],
    )
    def test_access_token_problems(self, access_token: str, problem: str) -> None:
        record = parse_doc(with_tokens(access_token=access_token))
        assert record.kind is AuthKind.CHATGPT
        assert record.access is not None
        assert record.access.expires_at is None
        assert record.access.problem == problem
        assert record.problem == f"access token: {problem}"
        assert token_state(record, NOW) is TokenState.ERROR
        assert record.expires_in_s(NOW) is None

    def test_bad_id_token_keeps_state_from_access_token(self) -> None:
        record = parse_doc(with_tokens(id_token="garbage"))
        assert token_state(record, NOW) is TokenState.OK
        assert record.id is not None and record.id.problem is not None
        assert record.problem == "id token: not a JWT (expected 3 dot-separated parts)"
        assert record.email_masked is None
        assert record.plan == "plus"  # from the access token

    def test_both_tokens_bad(self) -> None:
        record = parse_doc(with_tokens(id_token="x", access_token="y"))
        assert record.problem is not None
        assert "access token:" in record.problem and "id token:" in record.problem

    def test_bad_iat_is_ignored(self) -> None:
        access = make_jwt({"exp": int(NOW.timestamp()) + DAY * 10, "iat": "yesterday"})
        record = parse_doc(with_tokens(access_token=access))
        assert record.access is not None
        assert record.access.issued_at is None
        assert record.access.problem is None
        assert token_state(record, NOW) is TokenState.OK

    def test_float_exp(self) -> None:
        access = make_jwt({"exp": NOW.timestamp() + 0.5})
        record = parse_doc(with_tokens(access_token=access))
        assert record.access is not None
        assert record.access.expires_at == NOW + timedelta(seconds=0.5)

    def test_padded_payload_is_accepted(self) -> None:
        payload = base64.urlsafe_b64encode(b'{"exp": 1}').decode()
        assert payload.endswith("=")
        assert decode_jwt_claims(jwt_with_payload(payload)) == {"exp": 1}


# ---------------------------------------------------------------------------- last_refresh


class TestLastRefresh:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("2026-02-10T23:26:40Z", datetime(2026, 2, 10, 23, 26, 40, tzinfo=UTC)),
            ("2026-02-11T01:26:40+02:00", datetime(2026, 2, 10, 23, 26, 40, tzinfo=UTC)),
            ("2026-02-10T18:26:40-05:00", datetime(2026, 2, 10, 23, 26, 40, tzinfo=UTC)),
            (
                "2025-09-12T10:31:09.123456789Z",
                datetime(2025, 9, 12, 10, 31, 9, 123456, tzinfo=UTC),
            ),
            ("2026-02-10T23:26:40", datetime(2026, 2, 10, 23, 26, 40, tzinfo=UTC)),
            ("yesterday", None),
            ("", None),
            (1770766000, None),
            (None, None),
        ],
    )
    def test_parsing(self, value: Any, expected: datetime | None) -> None:
        record = parse_doc(tokens_doc(last_refresh=value))
        assert record.last_refresh == expected
        if expected is not None:
            assert record.last_refresh is not None and record.last_refresh.tzinfo is UTC


# ---------------------------------------------------------------------------- file mode


class TestFileMode:
    @pytest.mark.parametrize("mode", [0o600, 0o400, 0o100600, 0o700])
    def test_private_modes_are_fine(self, mode: int) -> None:
        assert parse_doc(tokens_doc(), file_mode=mode).file_mode_warning() is None

    @pytest.mark.parametrize(
        ("mode", "shown"), [(0o644, "0644"), (0o100640, "0640"), (0o606, "0606"), (0o777, "0777")]
    )
    def test_readable_by_others_warns(self, mode: int, shown: str) -> None:
        record = parse_doc(tokens_doc(), file_mode=mode)
        assert record.file_mode_warning() == (
            f"auth.json is mode {shown}; it holds secrets: chmod 600 ~/.codex/auth.json"
        )

    def test_unknown_mode(self) -> None:
        record = parse_doc(tokens_doc())
        assert record.file_mode is None
        assert record.file_mode_warning() is None

    def test_mode_kept_for_malformed(self) -> None:
        record = parse_auth_json(b"nope", file_mode=0o100644)
        assert record.file_mode == 0o644
        assert record.file_mode_warning() is not None


# ---------------------------------------------------------------------------- secrets


class TestNoLeaks:
    def test_chatgpt_record_holds_no_secret(self) -> None:
        text = make_auth_json(now=NOW.timestamp())
        record = parse_auth_json(text.encode(), file_mode=0o644)
        assert len(secrets_in(text)) == 3
        assert_no_leak(record, secrets_in(text))
        assert "ada.lovelace" not in record_text(record)

    def test_key_and_tokens_hold_no_secret(self) -> None:
        doc = tokens_doc(OPENAI_API_KEY=API_KEY)
        record = parse_doc(doc)
        assert API_KEY in secrets_in(json.dumps(doc))
        assert_no_leak(record, secrets_in(json.dumps(doc)))

    def test_bad_token_messages_hold_no_secret(self) -> None:
        long_garbage = "NOT-A-JWT-" + "Q" * 60
        bad_json = jwt_with_payload(b64url(b"SECRETSECRETSECRET{"))
        doc = with_tokens(access_token=long_garbage, id_token=bad_json)
        record = parse_doc(doc)
        assert_no_leak(record, [long_garbage, bad_json, "SECRETSECRET"])

    def test_token_info_has_no_raw_token_field(self) -> None:
        fields = set(TokenInfo.__dataclass_fields__)
        assert fields == {"expires_at", "issued_at", "problem", "masked"}
        assert "refresh_token" not in AuthRecord.__dataclass_fields__

    def test_records_are_frozen(self) -> None:
        record = parse_doc(tokens_doc())
        with pytest.raises(AttributeError):
            record.plan = "pro"  # type: ignore[misc]


# ---------------------------------------------------------------------------- helpers


class TestDecodeJwt:
    def test_round_trip(self) -> None:
        claims = {"exp": 1, "email": "a@b.c", "nested": {"x": [1, 2]}}
        assert decode_jwt_claims(make_jwt(claims)) == claims

    @pytest.mark.parametrize("token", ["", "abc", "a.b", jwt_with_payload("@@@@")])
    def test_errors_are_jwt_errors(self, token: str) -> None:
        with pytest.raises(JwtError):
            decode_jwt_claims(token)

    def test_jwt_error_is_value_error_without_token(self) -> None:
        token = "SECRETSECRETSECRET.payload!.sig"
        with pytest.raises(ValueError, match="base64url") as info:
            decode_jwt_claims(token)
        assert "SECRETSECRET" not in str(info.value)

    def test_not_a_string(self) -> None:
        with pytest.raises(JwtError):
            decode_jwt_claims(None)  # type: ignore[arg-type]


class TestMasking:
    def test_mask_secret_examples(self) -> None:
        token = make_jwt({"exp": 1})
        assert mask_secret(token) == f"{token[:6]}…{token[-4:]}"
        assert mask_secret("acc-0f1e2d3c4b5a69788796a5b4c3d2e1f0") == "acc-0f…e1f0"
        assert mask_secret(API_KEY, head=3) == "sk-…AbCd"

    @pytest.mark.parametrize("value", ["", "x", "short-secret", "a" * 29])
    def test_short_secrets_are_fully_hidden(self, value: str) -> None:
        assert mask_secret(value) == "•••"

    def test_mask_secret_non_string(self) -> None:
        assert mask_secret(None) == "•••"  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("email", "masked"),
        [
            ("ada.lovelace@example.com", "ad***@example.com"),
            ("ab@example.com", "a***@example.com"),
            ("a@example.com", "a***@example.com"),
            ("not-an-email", "•••"),
            ("@example.com", "•••"),
            ("ada@", "•••"),
        ],
    )
    def test_mask_email(self, email: str, masked: str) -> None:
        assert mask_email(email) == masked


class TestDurations:
    @pytest.mark.parametrize(
        ("seconds", "text"),
        [
            (788400, "9 days 3 hours"),
            (5400, "1 hour 30 minutes"),
            (42, "42 seconds"),
            (1, "1 second"),
            (0, "0 seconds"),
            (0.9, "0 seconds"),
            (60, "1 minute"),
            (61, "1 minute 1 second"),
            (3600, "1 hour"),
            (DAY, "1 day"),
            (DAY + 30, "1 day"),
            (DAY + 3600 + 59, "1 day 1 hour"),
            (2 * DAY + 23 * 3600 + 59 * 60, "2 days 23 hours"),
            (-7200, "2 hours"),
            (float("inf"), "an unknown time"),
            (float("nan"), "an unknown time"),
        ],
    )
    def test_humanize_duration(self, seconds: float, text: str) -> None:
        assert humanize_duration(seconds) == text

    def test_describe_expiry(self) -> None:
        assert describe_expiry(NOW + timedelta(seconds=788400), NOW) == "in 9 days 3 hours"
        assert describe_expiry(NOW - timedelta(hours=2), NOW) == "expired 2 hours ago"
        assert describe_expiry(NOW, NOW) == "expired just now"

    def test_describe_expiry_mixed_zones(self) -> None:
        tz = timezone(timedelta(hours=5))
        assert describe_expiry(NOW + timedelta(hours=1), NOW.astimezone(tz)) == "in 1 hour"
        naive_now = NOW.replace(tzinfo=None)
        assert describe_expiry(NOW + timedelta(minutes=5), naive_now) == "in 5 minutes"

    def test_describe_expiry_default_now(self) -> None:
        soon = datetime.now(UTC) + timedelta(days=2, hours=1, minutes=1)
        assert describe_expiry(soon) == "in 2 days 1 hour"


# ---------------------------------------------------------------------------- properties

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
claim_values = json_values | st.integers(min_value=-(10**12), max_value=10**12)
claims_dicts = st.dictionaries(
    st.sampled_from(["exp", "iat", "email", "https://api.openai.com/auth", "x"]) | st.text(),
    claim_values,
    max_size=6,
)
token_values = (
    json_values
    | st.text()
    | claims_dicts.map(make_jwt)
    | st.builds(lambda p: jwt_with_payload(p), st.text(alphabet=string.printable))
)
documents = st.fixed_dictionaries(
    {},
    optional={
        "auth_mode": json_values,
        "OPENAI_API_KEY": json_values,
        "last_refresh": json_values | st.datetimes().map(datetime.isoformat),
        "tokens": json_values
        | st.fixed_dictionaries(
            {},
            optional={
                "id_token": token_values,
                "access_token": token_values,
                "refresh_token": json_values,
                "account_id": json_values,
            },
        ),
        "extra": json_values,
    },
)


def check_record(record: AuthRecord) -> None:
    """Everything a caller may do with a record works without raising."""
    assert isinstance(record, AuthRecord)
    assert record.kind in set(AuthKind)
    assert token_state(record, NOW) in set(TokenState)
    record.expires_in_s(NOW)
    record.file_mode_warning()
    repr(record)
    if record.kind is AuthKind.MALFORMED:
        assert record.problem
    for moment in (
        record.last_refresh,
        record.access and record.access.expires_at,
        record.id and record.id.expires_at,
    ):
        if moment is not None:
            assert moment.tzinfo is UTC


class TestProperties:
    @given(st.binary(max_size=2048), st.none() | st.integers(min_value=0, max_value=0o177777))
    def test_never_raises_on_arbitrary_bytes(self, data: bytes, mode: int | None) -> None:
        check_record(parse_auth_json(data, file_mode=mode))

    @given(json_values)
    def test_never_raises_on_arbitrary_json(self, value: Any) -> None:
        check_record(parse_auth_json(json.dumps(value).encode()))

    @settings(max_examples=300)
    @given(documents)
    def test_never_raises_on_arbitrary_documents(self, doc: dict[str, Any]) -> None:
        check_record(parse_doc(doc))

    @given(st.text(), st.text())
    def test_never_raises_on_arbitrary_token_strings(self, access: str, id_token: str) -> None:
        record = parse_doc(with_tokens(access_token=access, id_token=id_token))
        check_record(record)
        if access.strip():
            assert record.kind is AuthKind.CHATGPT

    @given(
        st.dictionaries(
            st.text(), json_values | st.floats(allow_nan=False, allow_infinity=True), max_size=8
        )
    )
    def test_decode_jwt_round_trips(self, claims: dict[str, Any]) -> None:
        assert decode_jwt_claims(make_jwt(claims)) == claims

    @given(st.text())
    def test_decode_jwt_only_raises_jwt_error(self, token: str) -> None:
        try:
            decode_jwt_claims(token)
        except JwtError as exc:
            assert str(exc)

    @given(st.text(min_size=12), st.sampled_from([(6, 4), (3, 4)]))
    def test_mask_secret_hides_the_secret(self, secret: str, head_tail: tuple[int, int]) -> None:
        head, tail = head_tail
        masked = mask_secret(secret, head=head, tail=tail)
        assert secret not in masked
        assert len(masked) <= head + tail + 1

    @settings(max_examples=150)
    @given(
        tag=st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=16),
        email=st.emails(),
        plan=st.sampled_from(["free", "plus", "pro", "team", "enterprise"]),
        account_id=st.text(min_size=1, max_size=60),
        access_ttl_s=st.floats(min_value=-100 * DAY, max_value=100 * DAY),
        api_key=st.none()
        | st.text(alphabet=string.ascii_letters + string.digits, min_size=20, max_size=80).map(
            lambda s: f"sk-{s}"
        ),
        mode=st.none() | st.integers(min_value=0, max_value=0o777),
    )
    def test_repr_never_contains_a_fixture_secret(
        self,
        tag: str,
        email: str,
        plan: str,
        account_id: str,
        access_ttl_s: float,
        api_key: str | None,
        mode: int | None,
    ) -> None:
        text = make_auth_json(
            now=NOW.timestamp(),
            tag=tag,
            email=email,
            plan=plan,
            account_id=account_id,
            access_ttl_s=access_ttl_s,
        )
        if api_key is not None:
            doc = json.loads(text)
            doc["OPENAI_API_KEY"] = api_key
            text = json.dumps(doc)
        record = parse_auth_json(text.encode(), file_mode=mode)
        assert record.kind is AuthKind.CHATGPT
        check_record(record)
        assert_no_leak(record, secrets_in(text))
