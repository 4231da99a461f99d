"""The Empathic Voice Interface chat (EVI) as a plug-in of the suite."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from conformance.protocols import ServeOption, conventional, with_defaults

__all__ = ["PLUGIN", "SERVE_OPTIONS"]


# The flags of `conformance serve --protocol evi`. No default for the credentials: the
# reference's own are the ones its embedded.yaml carries (tests/unit pins the paths' defaults).
SERVE_OPTIONS = (
    ServeOption(flag="--path", default="/v0/evi/chat", help="the chat socket's path"),
    ServeOption(flag="--configs-path", default="/v0/evi/configs", help="the config API's path"),
    ServeOption(
        flag="--api-key",
        help="the API key it accepts (api_key query parameter or X-Hume-Api-Key header; "
        "default: the one of its embedded profile)",
    ),
    ServeOption(
        flag="--access-token",
        help="the access token it accepts (access_token query parameter; default: the one of "
        "its embedded profile)",
    ),
)

# The serve options the reference takes (reference_app's docstring).
_OPTIONS = ("variants", "pace", *(option.dest for option in SERVE_OPTIONS))


def _reference_app(faults: Sequence[str], options: Mapping[str, Any]) -> web.Application:
    from conformance.protocols.evi.reference.server import reference_app

    kept = {k: v for k, v in with_defaults(SERVE_OPTIONS, options).items() if k in _OPTIONS}
    return reference_app(faults, kept)


PLUGIN = conventional(
    __package__,
    name="evi",
    title="Empathic Voice Interface chat (WebSocket)",
    reference_app=_reference_app,
    serve_options=SERVE_OPTIONS,
)
