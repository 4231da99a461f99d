"""The EVI case catalogue: importing the area modules registers their cases."""

from conformance.engine.model import Case
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
from conformance.protocols.evi.cases.common import AREAS, CATALOGUE

__all__ = ["CATALOGUE", "ordered"]


def ordered() -> list[Case]:
    """The catalogue in area order (a chat's life), ids sorted within an area."""
    return sorted(CATALOGUE, key=lambda case: (AREAS.index(case.area), case.id))
