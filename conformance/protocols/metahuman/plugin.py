"""MetaHuman AI Chat as a plug-in of the suite."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from conformance import audio
from conformance.protocols import ServeOption, conventional, with_defaults

__all__ = ["PLUGIN", "SERVE_OPTIONS"]


# The flags of `conformance serve --protocol metahuman`.
SERVE_OPTIONS = (
    ServeOption(flag="--path", default="socket.io", help="the Socket.IO path"),
    ServeOption(flag="--namespace", default="/", help="the Socket.IO namespace"),
    ServeOption(flag="--token", help="require this `token` in the handshake auth payload"),
    ServeOption(
        flag="--tts-format",
        default="mp3",
        choices=audio.FORMATS,
        help="the audio format of response.audio.delta",
    ),
    ServeOption(
        flag="--delta-gap",
        help="seconds of pause before every response.audio.delta but the first (a server "
        "slowed on purpose)",
    ),
)


def _reference_app(faults: Sequence[str], options: Mapping[str, Any]) -> web.Application:
    from conformance.protocols.metahuman.reference.faults import FAULTS, ActiveFaults
    from conformance.protocols.metahuman.reference.providers import OfflineTextToSpeech, Providers
    from conformance.protocols.metahuman.reference.server import ReferenceServer
    from conformance.protocols.metahuman.reference.variants import VARIANTS, ActiveVariants

    options = with_defaults(SERVE_OPTIONS, options)
    server = ReferenceServer(
        faults=ActiveFaults(FAULTS, faults),
        variants=ActiveVariants(VARIANTS, options.get("variants", ())),
        providers=Providers(tts=OfflineTextToSpeech(output_format=options["tts_format"])),
        token=options.get("token"),
        path=options["path"],
        namespace=options["namespace"],
        slow_first_audio_s=float(options.get("slow_first_audio_s", 8.0)),
        delta_gap_s=_seconds(options, "delta_gap"),
    )
    return server.attach(web.Application())


def _seconds(options: Mapping[str, Any], name: str) -> float:
    value = options.get(name) or 0.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise KeyError(f"--{name.replace('_', '-')} takes seconds (0 or more), not {value!r}")
    return seconds


PLUGIN = conventional(
    __package__,
    name="metahuman",
    title="MetaHuman AI Chat 1.0.0 (Socket.IO)",
    reference_app=_reference_app,
    serve_options=SERVE_OPTIONS,
)
