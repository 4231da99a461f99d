"""The MetaHuman AI Chat case catalogue: importing the area modules registers their cases."""

from conformance.engine.model import Case
from conformance.protocols.metahuman.cases import (  # noqa: F401  (registration)
    deltas,
    errors,
    handshake,
    isolation,
    session,
)
from conformance.protocols.metahuman.cases.common import AREAS, CATALOGUE

__all__ = ["CATALOGUE", "ordered"]


def ordered() -> list[Case]:
    """The catalogue in area order (a turn's order), ids sorted within an area."""
    return sorted(CATALOGUE, key=lambda case: (AREAS.index(case.area), case.id))
