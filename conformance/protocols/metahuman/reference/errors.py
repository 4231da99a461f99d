"""The reference server's `custom.error` catalogue.

The seed shows `custom.error {message, errorId}` with `errorId: 0` and no meaning for the ids
(PROTOCOLS.md §1 [open]); these are the reference server's own. A profile can pin another
server's ids; the suite checks shape and correlation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "AUDIO_NOT_DECODABLE",
    "CATALOGUE",
    "EMPTY_BUFFER",
    "INTERNAL_ERROR",
    "INVALID_CHUNK",
    "INVALID_SESSION_CONFIG",
    "PAYLOAD_TOO_LARGE",
    "PROVIDER_FAILURE",
    "SESSION_NOT_CONFIGURED",
    "UNKNOWN_EVENT",
    "CustomError",
    "ErrorKind",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorKind:
    """One row of the catalogue."""

    error_id: int
    name: str
    message: str
    when: str


INVALID_SESSION_CONFIG = ErrorKind(
    error_id=1001,
    name="invalid-session-config",
    message="invalid session config",
    when="`session.update` payload violates the session.update schema",
)
SESSION_NOT_CONFIGURED = ErrorKind(
    error_id=1002,
    name="session-not-configured",
    message="session not configured",
    when="`input.buffer.append` or `input.buffer.commit` before a successful `session.update`",
)
INVALID_CHUNK = ErrorKind(
    error_id=1003,
    name="invalid-chunk",
    message="invalid audio chunk",
    when="an `input.buffer.append` chunk that is not a non-empty base64 string (or bytes)",
)
AUDIO_NOT_DECODABLE = ErrorKind(
    error_id=1004,
    name="audio-not-decodable",
    message="audio cannot be decoded",
    when="`input.buffer.commit` of a buffer that is not audio in a supported format",
)
EMPTY_BUFFER = ErrorKind(
    error_id=1005,
    name="empty-buffer",
    message="input buffer is empty",
    when="`input.buffer.commit` with no chunk appended since the last commit",
)
PAYLOAD_TOO_LARGE = ErrorKind(
    error_id=1006,
    name="payload-too-large",
    message="payload too large",
    when="a chunk over the chunk limit, or a buffer that would grow over the buffer limit",
)
PROVIDER_FAILURE = ErrorKind(
    error_id=1007,
    name="provider-failure",
    message="provider failure",
    when="the STT, LLM or TTS provider fails (offline: a prompt containing `[[provider-failure]]`)",
)
UNKNOWN_EVENT = ErrorKind(
    error_id=1008,
    name="unknown-event",
    message="unknown event",
    when="an event the protocol does not define, or one a Receiver may not send",
)
INTERNAL_ERROR = ErrorKind(
    error_id=1500,
    name="internal-error",
    message="internal server error",
    when="a bug of the server; the connection and the other sessions stay usable",
)

CATALOGUE: tuple[ErrorKind, ...] = (
    INVALID_SESSION_CONFIG,
    SESSION_NOT_CONFIGURED,
    INVALID_CHUNK,
    AUDIO_NOT_DECODABLE,
    EMPTY_BUFFER,
    PAYLOAD_TOO_LARGE,
    PROVIDER_FAILURE,
    UNKNOWN_EVENT,
    INTERNAL_ERROR,
)


class CustomError(Exception):
    """Raised inside a handler; the server answers it with a `custom.error` to the Sender."""

    def __init__(self, kind: ErrorKind, detail: str = "") -> None:
        super().__init__(f"{kind.message}: {detail}" if detail else kind.message)
        self.kind = kind
        self.detail = detail

    def payload(self) -> dict[str, Any]:
        """The wire payload `{message, errorId}` of the seed."""
        return {"message": str(self), "errorId": self.kind.error_id}
