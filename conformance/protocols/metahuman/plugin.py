"""MetaHuman AI Chat as a plug-in of the suite."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from conformance.protocols import conventional

__all__ = ["PLUGIN"]


def _reference_app(faults: Sequence[str], options: Mapping[str, Any]) -> web.Application:
    from conformance.protocols.metahuman.reference.faults import FAULTS, ActiveFaults
    from conformance.protocols.metahuman.reference.providers import OfflineTextToSpeech, Providers
    from conformance.protocols.metahuman.reference.server import ReferenceServer
    from conformance.protocols.metahuman.reference.variants import VARIANTS, ActiveVariants

    server = ReferenceServer(
        faults=ActiveFaults(FAULTS, faults),
        variants=ActiveVariants(VARIANTS, options.get("variants", ())),
        providers=Providers(
            tts=OfflineTextToSpeech(output_format=options.get("tts_format", "mp3"))
        ),
        token=options.get("token"),
        path=options.get("path", "socket.io"),
        namespace=options.get("namespace", "/"),
        slow_first_audio_s=float(options.get("slow_first_audio_s", 8.0)),
    )
    return server.attach(web.Application())


PLUGIN = conventional(
    __package__,
    name="metahuman",
    title="MetaHuman AI Chat 1.0.0 (Socket.IO)",
    reference_app=_reference_app,
)
