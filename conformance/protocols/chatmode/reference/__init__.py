"""The reference Chat Mode endpoints (`/jwt`, `/connection`, `/ws/chat`, `/files/`) and faults."""

from conformance.protocols.chatmode.reference.faults import FAULTS, ActiveFaults, Fault
from conformance.protocols.chatmode.reference.server import reference_app

__all__ = ["FAULTS", "ActiveFaults", "Fault", "reference_app"]
