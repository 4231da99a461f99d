"""The Chat Mode case catalogue (PROTOCOLS.md §2): importing the area modules registers their
cases: the token flow, the connection info, the chat socket, text and voice turns, the answer's
audio, invalid messages, isolation."""

from conformance.engine.model import Case
from conformance.protocols.chatmode.cases import (  # noqa: F401  (registration)
    connection,
    errors,
    files,
    isolation,
    socket,
    text,
    tokens,
    voice,
)
from conformance.protocols.chatmode.cases.common import AREAS, CATALOGUE

__all__ = ["CATALOGUE", "ordered"]


def ordered() -> list[Case]:
    """The catalogue in area order (the token flow, then a turn's order), ids sorted within
    an area."""
    return sorted(CATALOGUE, key=lambda case: (AREAS.index(case.area), case.id))
