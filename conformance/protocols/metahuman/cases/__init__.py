"""The MetaHuman AI Chat case catalogue: importing the area modules registers their cases."""

from conformance.protocols.metahuman.cases import (  # noqa: F401  (registration)
    deltas,
    errors,
    handshake,
    isolation,
    session,
)
from conformance.protocols.metahuman.cases.common import CATALOGUE

__all__ = ["CATALOGUE", "ordered"]

# The plug-in registry reads `cases.ordered` (the catalogue in its areas' order).
ordered = CATALOGUE.ordered
