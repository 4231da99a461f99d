"""Protocol-agnostic pieces of a conformance run."""

from conformance.engine.transcript import Direction, Transcript, WireEvent

__all__ = ["Direction", "Transcript", "WireEvent"]
