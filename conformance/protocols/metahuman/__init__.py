"""The MetaHuman AI Chat 1.0.0 protocol (Socket.IO): vocabulary and reference server."""

from conformance.protocols.metahuman.events import Event, ResponseType, Role

__all__ = ["Event", "ResponseType", "Role"]

NAME = "metahuman"
