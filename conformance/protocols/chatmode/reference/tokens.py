"""HS256 JSON Web Tokens made with the standard library: the publisher's `POST /jwt` flow.

Only what the reference server needs: it signs its own tokens and checks them, so the header is
fixed (`{"alg": "HS256", "typ": "JWT"}`) and any other algorithm, `none` included, is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["Claims", "ExpiredToken", "InvalidToken", "issue", "verify"]

_HEADER: Final = {"alg": "HS256", "typ": "JWT"}


class InvalidToken(ValueError):
    """Not a token this server signed (malformed, another key, another algorithm)."""


class ExpiredToken(InvalidToken):
    """A token this server signed whose `exp` has passed (the publisher answers 403)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Claims:
    user_id: str
    project_id: str
    exp: int


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    # JWTs drop the padding; add it back. A stray character is refused rather than skipped.
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except ValueError as exc:
        raise InvalidToken(f"not base64url: {exc}") from exc


def _json(part: str) -> Any:
    try:
        return json.loads(_b64decode(part))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidToken(f"not JSON: {exc}") from exc


def _sign(secret: bytes, signing_input: str) -> str:
    return _b64encode(hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest())


def issue(
    secret: bytes, *, user_id: str, project_id: str, ttl_s: float, now: float | None = None
) -> str:
    """A signed token for the user, valid `ttl_s` seconds from `now` (0 or less: expired)."""
    issued = time.time() if now is None else now
    claims = {"user_id": user_id, "project_id": project_id, "exp": int(issued + ttl_s)}
    compact = json.dumps(_HEADER, separators=(",", ":")), json.dumps(claims, separators=(",", ":"))
    signing_input = ".".join(_b64encode(part.encode()) for part in compact)
    return f"{signing_input}.{_sign(secret, signing_input)}"


def verify(
    secret: bytes, token: str, *, now: float | None = None, check_expiry: bool = True
) -> Claims:
    """The claims of a token this server signed; InvalidToken or ExpiredToken otherwise."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("a JWT has three dot-separated parts")
    header, payload, signature = parts
    # Check the signature before reading anything the token claims.
    try:
        expected = _sign(secret, f"{header}.{payload}")
    except UnicodeEncodeError as exc:
        raise InvalidToken("not ASCII") from exc
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise InvalidToken("bad signature")
    if _json(header) != _HEADER:
        raise InvalidToken("unexpected header")
    claims = _json(payload)
    if not isinstance(claims, dict):
        raise InvalidToken("claims are not an object")
    user_id, project_id, exp = (claims.get(k) for k in ("user_id", "project_id", "exp"))
    if not isinstance(user_id, str) or not isinstance(project_id, str):
        raise InvalidToken("user_id and project_id must be strings")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise InvalidToken("exp must be an integer")
    if check_expiry and (time.time() if now is None else now) >= exp:
        raise ExpiredToken(f"expired at {exp}")
    return Claims(user_id=user_id, project_id=project_id, exp=exp)
