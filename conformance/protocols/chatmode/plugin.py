"""Chat Mode as a plug-in of the suite."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from conformance.protocols import conventional

__all__ = ["PLUGIN", "SIGNING_KEY"]

# The reference server's signing key is public: it is a test server, and the built-in profile
# carries a token it signed that expired on 2020-01-01 (auth.expired_token).
SIGNING_KEY = b"conformance-reference-signing-key"


def _reference_app(faults: Sequence[str], options: Mapping[str, Any]) -> web.Application:
    from conformance.protocols.chatmode.reference.server import reference_app

    return reference_app(faults, variants=options.get("variants", ()), secret=SIGNING_KEY)


PLUGIN = conventional(
    __package__,
    name="chatmode",
    title="Chat Mode (WebSocket)",
    reference_app=_reference_app,
)
