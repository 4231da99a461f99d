"""Session state: its configuration, its input buffer, its peers.

Every mutation here is synchronous, so a handler that mutates before its first `await` keeps
the order in which the client sent its events (python-socketio runs each event as a task).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import uuid
from dataclasses import dataclass, field
from typing import Any

from conformance.protocols.metahuman.reference.config import SessionConfig
from conformance.protocols.metahuman.reference.errors import (
    EMPTY_BUFFER,
    INVALID_CHUNK,
    PAYLOAD_TOO_LARGE,
    CustomError,
)

__all__ = ["InputBuffer", "Limits", "Session", "decode_chunk"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Size limits; over them a chunk is refused with `custom.error` PAYLOAD_TOO_LARGE."""

    max_chunk_bytes: int = 1 << 20
    max_buffer_bytes: int = 16 << 20


def decode_chunk(chunk: Any) -> bytes:
    """One `input.buffer.append` payload as bytes: a base64 string, or a binary attachment."""
    if isinstance(chunk, bytes):
        data = chunk
    elif isinstance(chunk, str):
        try:
            data = base64.b64decode(chunk, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CustomError(INVALID_CHUNK, f"not base64 ({exc})") from None
    else:
        raise CustomError(INVALID_CHUNK, f"expected a base64 string, got {type(chunk).__name__}")
    if not data:
        raise CustomError(INVALID_CHUNK, "empty chunk")
    return data


@dataclass(slots=True)
class InputBuffer:
    """The audio appended since the last commit."""

    limits: Limits = field(default_factory=Limits)
    _chunks: list[bytes] = field(default_factory=list)
    _size: int = 0

    def append(self, data: bytes) -> bool:
        """Add a chunk; True when it is the first chunk of this buffer."""
        if len(data) > self.limits.max_chunk_bytes:
            raise CustomError(
                PAYLOAD_TOO_LARGE,
                f"chunk of {len(data)} bytes over the {self.limits.max_chunk_bytes}-byte limit",
            )
        if self._size + len(data) > self.limits.max_buffer_bytes:
            raise CustomError(
                PAYLOAD_TOO_LARGE,
                f"buffer would reach {self._size + len(data)} bytes, over the "
                f"{self.limits.max_buffer_bytes}-byte limit",
            )
        first = not self._chunks
        self._chunks.append(data)
        self._size += len(data)
        return first

    def peek(self) -> bytes:
        """The committed audio, left in the buffer (the shared-input-buffer fault reads so)."""
        if not self._chunks:
            raise CustomError(EMPTY_BUFFER, "commit with no chunk appended since the last commit")
        return b"".join(self._chunks)

    def take(self) -> bytes:
        """The committed audio; the buffer starts afresh."""
        data = self.peek()
        self._chunks.clear()
        self._size = 0
        return data

    def __len__(self) -> int:
        return self._size


@dataclass(slots=True, kw_only=True)
class Session:
    """One conversation: created by the Sender's first valid `session.update`."""

    config: SessionConfig
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    sender: str | None = None
    receivers: set[str] = field(default_factory=set)
    buffer: InputBuffer = field(default_factory=InputBuffer)
    # Turns run one after another, in commit order (asyncio.Lock wakes waiters FIFO).
    turn_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def abandoned(self) -> bool:
        return self.sender is None and not self.receivers
