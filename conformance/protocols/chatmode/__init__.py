"""Chat Mode (WebSocket, PROTOCOLS.md §2): token flow, chat socket and reference server."""

__all__ = ["NAME"]

NAME = "chatmode"
