"""Chat Mode as a plug-in of the suite."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from conformance.protocols import conventional

__all__ = ["KILL_MATRIX", "PLUGIN", "SIGNING_KEY"]

# The reference server's signing key is public: it is a test server, and the built-in profile
# carries a token it signed that expired on 2020-01-01 (auth.expired_token).
SIGNING_KEY = b"conformance-reference-signing-key"

# Which cases each fault of the reference endpoints must make FAILED (tests/selftest).
KILL_MATRIX: dict[str, list[str]] = {
    "jwt-accepts-bad-user-id": ["CM-TOK-002", "CM-TOK-003"],
    "unknown-project-accepted": ["CM-TOK-004"],
    "expired-token-accepted": ["CM-CON-003", "CM-WS-003"],
    "expired-token-401": ["CM-CON-003", "CM-WS-003"],
    "connection-without-auth": ["CM-CON-002"],
    "socket-without-token": ["CM-WS-002"],
    "live-mode-accepted": ["CM-ERR-011"],
    "wav-8khz-accepted": ["CM-ERR-012"],
    "no-answer-to-voice": ["CM-VOI-001[*]"],
    "missing-type-field": ["CM-TXT-002"],
    "file-url-404": ["CM-AUD-001"],
    "file-url-wrong-content-type": ["CM-AUD-002"],
    "answer-audio-not-decodable": ["CM-AUD-002", "CM-AUD-003"],
    "cross-user-leak": ["CM-ISO-001"],
    "error-closes-socket": ["CM-ERR-0*"],
}


def _reference_app(faults: Sequence[str], options: Mapping[str, Any]) -> web.Application:
    from conformance.protocols.chatmode.reference.server import reference_app

    return reference_app(faults, variants=options.get("variants", ()), secret=SIGNING_KEY)


PLUGIN = conventional(
    __package__,
    name="chatmode",
    title="Chat Mode (WebSocket)",
    reference_app=_reference_app,
    kill_matrix=KILL_MATRIX,
)
