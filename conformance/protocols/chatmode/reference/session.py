"""What the reference Chat Mode server keeps between messages.

Chat Mode holds no conversation state: `GET /connection` names a session the socket never
needs, and each message is answered on its own. What outlives a message is the set of open
chat sockets (the server's, for shutdown and the cross-user-leak fault) and the answers' audio,
kept here until a client fetches it from `fileUrl`.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Final

__all__ = ["AnswerFiles"]

# Answers' audio is kept in memory; the oldest go first so a long run cannot grow without end.
_MAX_FILES: Final = 1024


@dataclass(slots=True)
class AnswerFiles:
    """The answers' audio by file id, for `GET /files/<id>.<ext>`."""

    limit: int = _MAX_FILES
    _data: OrderedDict[str, bytes] = field(default_factory=OrderedDict)

    def keep(self, data: bytes) -> str:
        """Keep an answer's audio; its new file id."""
        file_id = uuid.uuid4().hex
        self._data[file_id] = data
        while len(self._data) > self.limit:
            self._data.popitem(last=False)
        return file_id

    def get(self, file_id: str) -> bytes | None:
        return self._data.get(file_id)
