"""The reference EVI server's error catalogue.

The seed gives `error {code, slug, message}` and the publisher's examples a few codes (E0714
inactivity_timeout, E0715 max_duration_timeout); the rest are the reference's own, pinned only
by embedded.yaml. Handlers raise `EviError`; one wrapper answers it with an `error` message and
keeps the socket (the HTTP endpoints answer it as a JSON body with `status`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "CATALOGUE",
    "CHAT_GROUP_NOT_FOUND",
    "CONFIG_NOT_FOUND",
    "INACTIVITY_TIMEOUT",
    "INTERNAL_ERROR",
    "INVALID_AUDIO",
    "INVALID_CONFIG",
    "INVALID_JSON",
    "INVALID_MESSAGE",
    "INVALID_SESSION_SETTINGS",
    "MAX_DURATION_TIMEOUT",
    "UNAUTHORIZED",
    "UNKNOWN_MESSAGE_TYPE",
    "UNKNOWN_TOOL_CALL",
    "ErrorKind",
    "EviError",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorKind:
    """One row of the catalogue."""

    code: str
    slug: str
    message: str
    when: str
    status: int = 400  # the HTTP status when it refuses a request rather than a message


def _kind(code: str, slug: str, message: str, when: str, status: int = 400) -> ErrorKind:
    return ErrorKind(code=code, slug=slug, message=message, when=when, status=status)


INVALID_JSON = _kind("E0100", "invalid_json", "message is not JSON", "a frame that is not JSON")
UNAUTHORIZED = _kind(
    "E0101",
    "unauthorized",
    "missing or invalid credentials",
    "no valid `api_key`, `access_token` or `X-Hume-Api-Key` (HTTP 401 on the upgrade)",
    401,
)
UNKNOWN_MESSAGE_TYPE = _kind(
    "E0102",
    "unknown_message_type",
    "unknown message type",
    "a JSON object whose `type` is not a client message of the seed",
)
INVALID_MESSAGE = _kind(
    "E0103",
    "invalid_message",
    "invalid message",
    "a client message that breaks its schema; the message names the field",
)
INVALID_AUDIO = _kind(
    "E0104",
    "invalid_audio",
    "invalid audio",
    "`audio_input.data` that is not base64, or not audio of the declared format",
)
UNKNOWN_TOOL_CALL = _kind(
    "E0105",
    "unknown_tool_call",
    "unknown tool call",
    "a `tool_response` or `tool_error` whose `tool_call_id` no pending `tool_call` carries",
)
INVALID_SESSION_SETTINGS = _kind(
    "E0106",
    "invalid_session_settings",
    "invalid session settings",
    "session settings (message or query) the server cannot apply: a tool whose `parameters` "
    "is not JSON, a bad `verbose_transcription` value",
)
INVALID_CONFIG = _kind(
    "E0107",
    "invalid_config",
    "invalid config",
    "a `POST /v0/evi/configs` body that breaks the config.request schema (HTTP 400)",
)
CONFIG_NOT_FOUND = _kind(
    "E0108",
    "config_not_found",
    "config not found",
    "a `config_id` the server did not issue (HTTP 404 on the upgrade)",
    404,
)
INTERNAL_ERROR = _kind(
    "E0500",
    "internal_error",
    "internal server error",
    "a bug of the server; the socket and the other chats stay usable",
    500,
)
INACTIVITY_TIMEOUT = _kind(
    "E0714",
    "inactivity_timeout",
    "inactivity timeout",
    "no user or assistant input for the config's inactivity duration; the socket closes",
)
MAX_DURATION_TIMEOUT = _kind(
    "E0715",
    "max_duration_timeout",
    "max duration timeout",
    "the chat has lasted the config's max duration; the socket closes",
)
CHAT_GROUP_NOT_FOUND = _kind(
    "E0720",
    "chat_group_not_found",
    "chat group not found",
    "`resumed_chat_group_id` names no chat group of this server; the socket closes (1008)",
    404,
)

CATALOGUE: tuple[ErrorKind, ...] = (
    INVALID_JSON,
    UNAUTHORIZED,
    UNKNOWN_MESSAGE_TYPE,
    INVALID_MESSAGE,
    INVALID_AUDIO,
    UNKNOWN_TOOL_CALL,
    INVALID_SESSION_SETTINGS,
    INVALID_CONFIG,
    CONFIG_NOT_FOUND,
    INTERNAL_ERROR,
    INACTIVITY_TIMEOUT,
    MAX_DURATION_TIMEOUT,
    CHAT_GROUP_NOT_FOUND,
)


class EviError(Exception):
    """Raised inside a handler; the server answers it with an `error` message."""

    def __init__(self, kind: ErrorKind, detail: str = "") -> None:
        super().__init__(f"{kind.message}: {detail}" if detail else kind.message)
        self.kind = kind
        self.detail = detail

    def payload(self) -> dict[str, Any]:
        """The wire payload `{type: "error", code, slug, message}` of the seed."""
        return {
            "type": "error",
            "code": self.kind.code,
            "slug": self.kind.slug,
            "message": str(self),
        }
