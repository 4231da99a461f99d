"""audio_output: ids and indexes, and the audio itself, judged per utterance (one id).

What must decode is one utterance: the chunks of an id joined in index order ([default]: the
slices of one WAV file), or each chunk alone (open: every chunk a whole WAV), as MetaHuman's
stream deltas are judged per text part. A profile pins either reading (`audio_output.chunks`)
and the index's scope (`audio_output.index`: per id [default] or across the turn).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from conformance import audio
from conformance.engine.context import CaseContext
from conformance.engine.model import Level, Violation
from conformance.protocols.evi.cases.common import (
    CATALOGUE,
    OPEN,
    READING_DEFAULT,
    answered,
    heads,
    seed,
    shown,
    valid,
)
from conformance.protocols.evi.cases.turns import answered_turns
from conformance.protocols.evi.client import Turn, chunk_data, utterance_audio, utterances
from conformance.protocols.evi.events import Server

AREA = CATALOGUE.area(
    "audio output",
    source=f"{seed('audio_output')}; PROTOCOLS.md §3 audio_output{{id, index, data}}",
)
PER_UTTERANCE = f"{READING_DEFAULT} audio_output judged per utterance (id); {OPEN} chunks"


def _indexes(chunks: Sequence[Mapping[str, Any]]) -> list[Any]:
    return [c.get("index") for c in chunks]


def _runs_from(indexes: Sequence[Any], first: int) -> bool:
    """Whether the indexes, in arrival order, are first, first+1, ... each once."""
    return list(indexes) == list(range(first, first + len(indexes)))


def _voiced(ctx: CaseContext, label: str, turn: Turn) -> list[Mapping[str, Any]]:
    """The turn's audio_output payloads in arrival order; FAILED when it has none."""
    answered(ctx, turn, label)
    payloads = turn.payloads(Server.AUDIO_OUTPUT)
    ctx.check(
        bool(payloads),
        f"{label} has no audio_output",
        expected="the answer's audio as audio_output",
        observed=" → ".join(e.event for e in turn.events),
    )
    return payloads


def _pieces(ctx: CaseContext, chunks: Sequence[Mapping[str, Any]]) -> list[bytes]:
    pieces = []
    for chunk in chunks:
        data = chunk_data(chunk)
        if data is None:
            ctx.fail(
                f"audio_output {chunk.get('id')!r} #{chunk.get('index')} is not base64",
                expected="data: base64 audio",
                observed=shown(chunk.get("data")),
            )
        pieces.append(data)
    return pieces


def _decoded(ctx: CaseContext, key: str, pieces: Sequence[bytes]) -> list[audio.AudioSegment]:
    """The utterance's audio as the profile's reading of chunks says (null: as the chunks
    show, see utterance_audio); FAILED when it does not decode that way."""
    reading = ctx.profile.section("audio_output").get("chunks")
    joined = b"".join(pieces)
    decoded: list[audio.AudioSegment] | None
    if reading == "whole":
        alone = [utterance_audio((piece,)) for piece in pieces]
        decoded = None if any(a is None for a in alone) else [s for a in alone for s in a or []]
    elif reading == "slices":
        decoded = utterance_audio((joined,))
    else:
        decoded = utterance_audio(tuple(pieces))
    if decoded is None:
        how = {"whole": "each chunk alone", "slices": "its chunks joined"}.get(
            str(reading), "its chunks joined, or each chunk alone where each is a file"
        )
        ctx.fail(
            f"the audio of utterance {key!r} does not decode ({how})",
            expected="audio that decodes (audio_output.chunks: "
            + (str(reading) if reading else "either reading")
            + ")",
            observed=f"{len(pieces)} chunks, {len(joined)} bytes starting {joined[:12].hex()} "
            f"(sniffed: {audio.sniff(joined)})",
        )
    return decoded


@AREA.case(
    "EVI-OUT-001",
    title="audio_output is {id, index, data}",
    clause="Each audio_output carries its utterance's id, the chunk's index and base64 data.",
    level=Level.MUST,
)
async def chunk_fields(ctx: CaseContext) -> None:
    for label, turn in await answered_turns(ctx):
        _voiced(ctx, label, turn)
        for event in turn.of(Server.AUDIO_OUTPUT):
            valid(ctx, event)
            _pieces(ctx, [event.payload])


@AREA.case(
    "EVI-OUT-002",
    title="Indexes run 0..n-1, each once",
    clause="audio_output indexes run 0..n-1 without gap or repeat: within each id ([default]) "
    "or across the turn (open), as the profile's audio_output.index says (null: either).",
    level=Level.MUST,
    source=f"{READING_DEFAULT} audio_output.index; {OPEN} index scope",
)
async def indexes(ctx: CaseContext) -> None:
    scope = ctx.profile.section("audio_output").get("index")
    for label, turn in await answered_turns(ctx):
        payloads = _voiced(ctx, label, turn)
        per_id: dict[str, list[Any]] = {}
        for p in payloads:
            per_id.setdefault(str(p.get("id")), []).append(p.get("index"))
        by_id = all(_runs_from(ix, 0) for ix in per_id.values())
        by_turn = _runs_from(_indexes(payloads), 0)
        holds = {"per_id": by_id, "per_turn": by_turn}.get(str(scope), by_id or by_turn)
        ctx.check(
            holds,
            f"in {label} the audio_output indexes do not run 0..n-1 each once "
            + {"per_id": "within each id", "per_turn": "across the turn"}.get(
                str(scope), "within each id, nor across the turn"
            ),
            expected="0, 1, 2 ... in arrival order (audio_output.index: "
            + (str(scope) if scope else "either reading")
            + ")",
            observed=f"indexes by id, in arrival order: {per_id}",
        )


@AREA.case(
    "EVI-OUT-003",
    title="Each utterance's audio decodes",
    clause="The audio of each audio_output id decodes: its chunks joined in index order, or "
    "each chunk alone (open: a server may send each chunk as a whole file).",
    level=Level.MUST,
    source=PER_UTTERANCE,
)
async def decodes(ctx: CaseContext) -> None:
    for label, turn in await answered_turns(ctx):
        _voiced(ctx, label, turn)
        for key, chunks in utterances(turn).items():
            _decoded(ctx, key, _pieces(ctx, chunks))


@AREA.case(
    "EVI-OUT-004",
    title="The audio is WAV",
    clause="audio_output carries WAV: each utterance's first chunk is a RIFF/WAVE file.",
    level=Level.MUST,
    source="PROTOCOLS.md §3 [doc] audio_output{id, index, data} (WAV chunks)",
)
async def is_wav(ctx: CaseContext) -> None:
    for label, turn in await answered_turns(ctx):
        _voiced(ctx, label, turn)
        for key, chunks in utterances(turn).items():
            first = _pieces(ctx, chunks[:1])[0]
            ctx.check(
                audio.sniff(first) == "wav",
                f"in {label}, utterance {key!r} is not WAV",
                expected="RIFF....WAVE",
                observed=f"{first[:12].hex()} (sniffed: {audio.sniff(first)})",
            )


@AREA.case(
    "EVI-OUT-005",
    title="The audio is long enough for its words",
    clause="A turn's audio lasts at least a second per 40 characters of its assistant_messages "
    "(no speech is faster).",
    level=Level.SHOULD,
    source=seed("assistant_message", "audio_output"),
)
async def long_enough(ctx: CaseContext) -> None:
    for label, turn in await answered_turns(ctx):
        _voiced(ctx, label, turn)
        total = 0
        for key, chunks in utterances(turn).items():
            try:
                decoded = _decoded(ctx, key, _pieces(ctx, chunks))
            except Violation:
                ctx.blocked(f"utterance {key!r} does not decode (see EVI-OUT-003)")
            total += sum(audio.duration_ms(s) for s in decoded)
        chars = sum(
            len(str((m.get("message") or {}).get("content", "")))
            for m in turn.payloads(Server.ASSISTANT_MESSAGE)
        )
        ctx.check(
            total >= 1000 * chars / 40,
            f"{label}: {total} ms of audio for {chars} characters",
            expected=f"at least {1000 * chars / 40:.0f} ms",
            observed=f"{total} ms; {shown(heads(turn.of(Server.ASSISTANT_MESSAGE)))}",
        )
