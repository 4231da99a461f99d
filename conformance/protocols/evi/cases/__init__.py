"""The EVI case catalogue: importing the area modules registers their cases."""

from conformance.protocols.evi.cases import (  # noqa: F401  (registration)
    audio,
    control,
    errors,
    handshake,
    isolation,
    output,
    session,
    settings,
    tools,
    turns,
)
from conformance.protocols.evi.cases.common import CATALOGUE

__all__ = ["CATALOGUE", "ordered"]

# The plug-in registry reads `cases.ordered` (the catalogue in its areas' order).
ordered = CATALOGUE.ordered
