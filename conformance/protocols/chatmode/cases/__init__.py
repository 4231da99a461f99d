"""The Chat Mode case catalogue (PROTOCOLS.md §2): importing the area modules registers their
cases: the token flow, the connection info, the chat socket, text and voice turns, the answer's
audio, invalid messages, isolation."""

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
from conformance.protocols.chatmode.cases.common import CATALOGUE

__all__ = ["CATALOGUE", "ordered"]

# The plug-in registry reads `cases.ordered` (the catalogue in its areas' order).
ordered = CATALOGUE.ordered
