"""The Empathic Voice Interface chat (EVI) as a plug-in of the suite."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from conformance.protocols import conventional

__all__ = ["PLUGIN"]


# The serve options the reference takes (reference_app's docstring).
_OPTIONS = ("variants", "path", "api_key", "access_token", "configs_path", "pace")


def _reference_app(faults: Sequence[str], options: Mapping[str, Any]) -> web.Application:
    from conformance.protocols.evi.reference.server import reference_app

    kept = {k: v for k, v in options.items() if k in _OPTIONS}
    return reference_app(faults, kept)


PLUGIN = conventional(
    __package__,
    name="evi",
    title="Empathic Voice Interface chat (WebSocket)",
    reference_app=_reference_app,
)
