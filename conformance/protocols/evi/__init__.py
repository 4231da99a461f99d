"""Empathic Voice Interface chat (WebSocket, PROTOCOLS.md §3): client, cases, reference."""
