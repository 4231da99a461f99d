"""Defects a Chat Mode server implementer could ship, injected on demand.

They exist for the suite's own mutation tests: every check of the Chat Mode catalogue must make
at least one of these FAILED, or it is a check that cannot fail. Each names the clause it breaks
and where that clause is written; each is read by the server at the one place it acts
(`faults.active(FAULT)`), and changes nothing else. None of them touches wording or formats the
documents leave open (the answer text, the timestamp's format, the reasons of system messages).
"""

from __future__ import annotations

from typing import Final

from conformance.protocols.faults import ActiveFaults, FaultRegistry, ServerFault

__all__ = ["FAULTS", "ActiveFaults", "ServerFault"]

_AUTH: Final = "PROTOCOLS.md §2 [doc, publisher's guide] authentication"
_MESSAGES: Final = "PROTOCOLS.md §2 [doc] text and voice messages (seed 002)"
_SERVER: Final = "PROTOCOLS.md §2 [doc, publisher's client] server messages"
_INVALID: Final = "PROTOCOLS.md §2 [default] an invalid message is answered"

FAULTS = FaultRegistry()


# --- the token flow ------------------------------------------------------------------------
JWT_ACCEPTS_BAD_USER_ID = FAULTS.add(
    "jwt-accepts-bad-user-id",
    "`POST /jwt` issues a token for any user_id, however long or whatever its characters",
    clause="user_id is 1 to 128 characters of [A-Za-z0-9_-]; otherwise 400 `invalid_user_id`",
    source=_AUTH,
    caught_by=("CM-TOK-002", "CM-TOK-003"),
)
UNKNOWN_PROJECT_ACCEPTED = FAULTS.add(
    "unknown-project-accepted",
    "`POST /jwt` issues a token for a project_id the server does not know",
    clause="an unknown project_id is answered 401 `project_not_found`",
    source=_AUTH,
    caught_by=("CM-TOK-004",),
)
EXPIRED_TOKEN_ACCEPTED = FAULTS.add(
    "expired-token-accepted",
    "an expired token is accepted by `/connection` and `/ws/chat`",
    clause="a token is valid 24 h; an expired token gives 403",
    source=_AUTH,
    caught_by=("CM-CON-003", "CM-WS-003"),
)
EXPIRED_TOKEN_401 = FAULTS.add(
    "expired-token-401",
    "an expired token is refused with 401 `invalid_token` instead of 403",
    clause="an expired token gives 403",
    source=_AUTH,
    caught_by=("CM-CON-003", "CM-WS-003"),
)
CONNECTION_WITHOUT_AUTH = FAULTS.add(
    "connection-without-auth",
    "`GET /connection` answers 200 without an `Authorization: Bearer` token",
    clause="`GET /connection` requires `Authorization: Bearer <jwt>`",
    source=_AUTH,
    caught_by=("CM-CON-002",),
)
SOCKET_WITHOUT_TOKEN = FAULTS.add(
    "socket-without-token",
    "`/ws/chat` upgrades without a valid `token` query parameter",
    clause="the socket is `/ws/chat?token=<jwt>`",
    source=_AUTH,
    caught_by=("CM-WS-002",),
)

# --- messages in ---------------------------------------------------------------------------
LIVE_MODE_ACCEPTED = FAULTS.add(
    "live-mode-accepted",
    "a message with `isLive: true` is answered as a Chat Mode message",
    clause="`isLive` is false for Chat Mode; Live Mode is not offered",
    source=f"{_MESSAGES}; PROTOCOLS.md §2 Live Mode is out of scope",
    caught_by=("CM-ERR-011",),
)
WAV_8KHZ_ACCEPTED = FAULTS.add(
    "wav-8khz-accepted",
    "WAV audio is accepted at any sample rate, 8 kHz included",
    clause="Chat Mode audio is WAV or WebM, 16 kHz, mono",
    source=f"{_MESSAGES}, Standard Audio Format",
    caught_by=("CM-ERR-012",),
)
NO_ANSWER_TO_VOICE = FAULTS.add(
    "no-answer-to-voice",
    "a valid voice message is dropped without an answer",
    clause="an audio message is answered with the avatar's response",
    source=f"{_MESSAGES}; seed 002 workflow step 3",
    caught_by=("CM-VOI-001[*]",),
)

# --- messages out --------------------------------------------------------------------------
MISSING_TYPE_FIELD = FAULTS.add(
    "missing-type-field",
    "server messages carry no `type`",
    clause='server messages are `{type: "system" | "incoming" | "event", content, ...}`',
    source=_SERVER,
    caught_by=("CM-TXT-002",),
)
FILE_URL_404 = FAULTS.add(
    "file-url-404",
    "the answer's `fileUrl` points to a path the server answers 404",
    clause="`fileUrl` points to the answer's audio",
    source=_SERVER,
    caught_by=("CM-AUD-001",),
)
FILE_URL_WRONG_CONTENT_TYPE = FAULTS.add(
    "file-url-wrong-content-type",
    "the answer's audio is served as `text/plain`",
    clause="`fileUrl` points to the answer's audio (served as audio, so a player can play it)",
    source=_SERVER,
    caught_by=("CM-AUD-002",),
)
ANSWER_AUDIO_NOT_DECODABLE = FAULTS.add(
    "answer-audio-not-decodable",
    "the bytes behind `fileUrl` are not audio",
    clause="`fileUrl` points to the answer's audio",
    source=_SERVER,
    caught_by=("CM-AUD-002", "CM-AUD-003"),
)
CROSS_USER_LEAK = FAULTS.add(
    "cross-user-leak",
    "every answer is sent to every open socket, whoever asked",
    clause="an answer goes to the socket of the message it answers, and to no other user",
    source=_SERVER,
    caught_by=("CM-ISO-001",),
)

# --- invalid messages ----------------------------------------------------------------------
ERROR_CLOSES_SOCKET = FAULTS.add(
    "error-closes-socket",
    "the socket is closed after the system message that answers an invalid message",
    clause="an invalid message is answered with a `system` message; the socket stays open",
    source=_INVALID,
    caught_by=("CM-ERR-0*",),
)
