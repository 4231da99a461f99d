"""Audio deltas, in every TTS mode (PROTOCOLS.md §1 [default] audio-delta semantics)."""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from conformance import audio
from conformance.engine.context import CaseContext
from conformance.engine.model import CaseFunction, Level
from conformance.protocols.metahuman.cases.common import (
    CATALOGUE,
    MODES,
    arrived,
    joined,
    mode_variants,
    shown,
    turn,
    valid,
)
from conformance.protocols.metahuman.client import Mode, Turn, delta_id
from conformance.protocols.metahuman.client import parts as parts  # shared with _keep_audio
from conformance.protocols.metahuman.events import Event

SEMANTICS = "PROTOCOLS.md §1 [default] audio-delta semantics"
AREA = CATALOGUE.area("audio deltas", source=SEMANTICS)


async def _deltas(ctx: CaseContext, *, whole: bool = True) -> tuple[Turn, list[dict[str, Any]]]:
    """The mode's turn and its delta payloads in arrival order.

    A stream the harness stopped waiting for (no delta with done true within the profile's
    timeouts) is a timing breach, judged by MH-TIME-002: the structural clauses are BLOCKED for
    it, since a server that is only slow has broken none of them, unless the deltas are
    complete by their own totalNumber (then what arrived is the whole answer, and it is
    judged). `whole=False`: a clause of each delta alone judges whatever arrived.
    """
    mode: Mode = ctx.params["mode"]
    t = await turn(ctx, mode)
    arrived(ctx, t.updated, Event.SESSION_UPDATED, ctx.timeouts.event)
    joined(ctx, t)
    payloads = [dict(e.payload) if isinstance(e.payload, Mapping) else {} for e in t.deltas]
    if whole and not t.deltas_done and not _complete(payloads):
        ctx.blocked(
            f"the delta stream stopped arriving ({_unended(ctx, t, payloads)}); its timing is "
            f"judged by MH-TIME-002[{mode.label}]"
        )
    return t, payloads


def _complete(payloads: Sequence[Mapping[str, Any]]) -> bool:
    """The deltas are all there by their own count: ids 0 … totalNumber-1 for a totalNumber
    some delta gives."""
    totals = [p.get("totalNumber") for p in payloads]
    total = max((n for n in totals if isinstance(n, int) and not isinstance(n, bool)), default=0)
    return total > 0 and {p.get("id") for p in payloads} >= set(range(total))


def _unended(ctx: CaseContext, t: Turn, payloads: Sequence[Mapping[str, Any]]) -> str:
    """Why the harness stopped waiting for the delta with done true: which timeout ran out,
    after what."""
    count = len(payloads)
    totals = [n for n in (p.get("totalNumber") for p in payloads) if isinstance(n, int) and n]
    of = f" of {max(totals)}" if totals else ""
    if t.stalled:
        stall = f"no delta for {ctx.timeouts.stall.cited}"
        if count:
            return f"{stall} after {count}{of}, none with done true"
        first = ctx.timeouts.first_audio
        return f"no response.audio.delta came: after {first.cited} the Receiver got {stall}"
    turn = ctx.timeouts.turn.cited
    if count:
        return f"{count}{of} deltas, none with done true, within {turn}"
    return f"no response.audio.delta came within {turn}"


def _heads(payloads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Deltas without their audio, for messages."""
    return [{k: v for k, v in p.items() if k != "audio"} for p in payloads]


def _by_id(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(payloads, key=delta_id)


def _audio_bytes(payload: Mapping[str, Any]) -> bytes | None:
    value = payload.get("audio")
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
    return None


def _ids(part: Sequence[Mapping[str, Any]]) -> str:
    ids = [p.get("id") for p in part]
    return f"delta {ids[0]}" if len(ids) == 1 else f"the part of deltas {ids}"


def _part_audio(ctx: CaseContext, part: Sequence[Mapping[str, Any]]) -> list[bytes]:
    """The audio bytes of the part's deltas, in id order; FAILED if one is not base64."""
    pieces: list[bytes] = []
    for p in part:
        data = _audio_bytes(p)
        if data is None:
            ctx.fail(
                f"delta {p.get('id')}'s audio is not base64",
                expected="base64 audio",
                observed=shown(p.get("audio")),
            )
        pieces.append(data)
    return pieces


def _mode_parts(ctx: CaseContext, payloads: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    mode: Mode = ctx.params["mode"]
    return parts(payloads, mode.response_type)


@functools.lru_cache(maxsize=1024)
def _decoded(data: bytes) -> tuple[int, str]:
    """(duration in ms, "") when the audio decodes, else (0, why); shared by the cases."""
    try:
        return audio.duration_ms(audio.decode(data)), ""
    except audio.AudioDecodeError as exc:
        return 0, str(exc) or "undecodable"


def _part_decoded(pieces: Sequence[bytes]) -> tuple[int, str]:
    """(duration in ms, "") when a part's audio decodes, else (0, why).

    The part's deltas joined in id order must decode; a part whose every delta is a whole file
    of its own (the sequence of those files) decodes too, though files glued together may not.
    """
    ms, problem = _decoded(b"".join(pieces))
    if not problem or len(pieces) < 2:
        return ms, problem
    alone = [_decoded(piece) for piece in pieces]
    if all(not why for _, why in alone):
        return sum(ms for ms, _ in alone), ""
    return 0, problem


def _normalised(text: str) -> str:
    return " ".join(text.split())


def delta_case(
    id: str, title: str, clause: str, *, level: Level = Level.MUST, modes: list[Mode] = MODES
) -> Callable[[CaseFunction], CaseFunction]:
    return AREA.case(
        id,
        title=title,
        clause=clause,
        level=level,
        variants=mode_variants(modes),
    )


@delta_case(
    "MH-DELTA-001",
    "Every delta is well-formed",
    "Each response.audio.delta is {id, text, audio, isBase64, done, streamPartDone, totalNumber}.",
)
async def payloads_valid(ctx: CaseContext) -> None:
    _, payloads = await _deltas(ctx, whole=False)  # each delta's shape, however many came
    for payload in payloads:
        valid(ctx, Event.RESPONSE_AUDIO_DELTA, payload)


@delta_case(
    "MH-DELTA-002",
    "Ids run 0 … totalNumber-1, each once",
    "Within one response, id runs 0 … totalNumber-1, each exactly once.",
)
async def ids_complete(ctx: CaseContext) -> None:
    _, payloads = await _deltas(ctx)
    ids = [p.get("id") for p in payloads]
    ctx.check(
        sorted(ids, key=lambda i: i if isinstance(i, int) else -1) == list(range(len(ids))),
        "the ids are not 0 … n-1 each once",
        expected=f"ids {list(range(len(ids)))} in some order",
        observed=f"ids {ids} in arrival order",
    )


@delta_case(
    "MH-DELTA-003",
    "totalNumber counts the deltas",
    "totalNumber is the number of deltas of the response (in stream mode it may be 0 until the "
    "final delta).",
)
async def total_number(ctx: CaseContext) -> None:
    _, payloads = await _deltas(ctx)
    mode: Mode = ctx.params["mode"]
    count = len(payloads)
    allowed = {count, 0} if mode.response_type == "stream" else {count}
    for p in _by_id(payloads):
        final = p.get("done") is True
        ctx.check(
            p.get("totalNumber") in ({count} if final else allowed),
            f"delta {p.get('id')} has totalNumber {p.get('totalNumber')} for {count} deltas",
            expected=f"totalNumber {count}"
            + (" (or 0 before the final delta)" if len(allowed) > 1 else ""),
            observed=shown(_heads([p])),
        )


@delta_case(
    "MH-DELTA-004",
    "done on the last delta only",
    "done is true on exactly one delta, the last (the highest id).",
)
async def done_once(ctx: CaseContext) -> None:
    _, payloads = await _deltas(ctx)
    done = [p.get("id") for p in payloads if p.get("done") is True]
    highest = max((delta_id(p) for p in payloads), default=None)
    ctx.check(
        done == [highest],
        f"done is true on ids {done}",
        expected=f"done true on id {highest} only",
        observed=shown(_heads(payloads)),
    )


@delta_case(
    "MH-DELTA-005",
    "streamPartDone closes each text part",
    "streamPartDone is true on the last delta of each text part (so on the final delta, and on "
    "every delta in chain and single mode).",
)
async def stream_part_done(ctx: CaseContext) -> None:
    _, payloads = await _deltas(ctx)
    mode: Mode = ctx.params["mode"]
    ordered = _by_id(payloads)
    must = ordered if mode.response_type in ("single", "chain") else ordered[-1:]
    missing = [p.get("id") for p in must if p.get("streamPartDone") is not True]
    ctx.check(
        not missing,
        f"streamPartDone is not true on ids {missing}",
        expected="streamPartDone true on "
        + ("every delta" if len(must) > 1 else "the final delta"),
        observed=shown(_heads(ordered)),
    )


@delta_case(
    "MH-DELTA-006",
    "Delta texts join to response.text",
    "The text of the deltas, in id order, joins to the response.text.",
)
async def texts_join(ctx: CaseContext) -> None:
    t, payloads = await _deltas(ctx)
    if not t.texts:
        ctx.unsupported("no response.text to compare with (see MH-TXT-001)")
    whole = (
        str((t.texts[0].payload or {}).get("text", ""))
        if isinstance(t.texts[0].payload, Mapping)
        else ""
    )
    joined = " ".join(str(p.get("text", "")) for p in _by_id(payloads))
    ctx.check(
        _normalised(joined) == _normalised(whole),
        "the delta texts do not join to response.text (compared with whitespace collapsed)",
        expected=whole,
        observed=joined,
    )


@delta_case(
    "MH-DELTA-007",
    "isBase64 mirrors the session",
    "isBase64 mirrors the session's TTS.isBase64: true, audio is base64 text; false, audio is "
    "a binary attachment.",
)
async def is_base64(ctx: CaseContext) -> None:
    _, payloads = await _deltas(ctx)
    mode: Mode = ctx.params["mode"]
    for p in payloads:
        kind = type(p.get("audio")).__name__
        ctx.check(
            p.get("isBase64") is mode.is_base64 and kind == ("str" if mode.is_base64 else "bytes"),
            f"delta {p.get('id')} has isBase64 {p.get('isBase64')} and audio of type {kind}",
            expected=f"isBase64 {mode.is_base64}, audio as "
            + ("base64 text" if mode.is_base64 else "binary"),
            observed=f"isBase64 {p.get('isBase64')}, audio as {kind}",
        )


@delta_case(
    "MH-DELTA-008",
    "Each text part's audio decodes",
    "The audio of each text part is a sniffable audio file that decodes: each delta in single "
    "and chain mode; in stream mode the deltas of a part joined in id order, up to the one with "
    "streamPartDone true (or, where each delta is a whole file, each of them).",
)
async def audio_decodes(ctx: CaseContext) -> None:
    _, payloads = await _deltas(ctx)
    for part in _mode_parts(ctx, payloads):
        pieces = _part_audio(ctx, part)
        data = b"".join(pieces)
        _, problem = _part_decoded(pieces)
        if problem:
            ctx.fail(
                f"the audio of {_ids(part)} does not decode: {problem}",
                expected="audio that decodes",
                observed=f"{len(data)} bytes starting {data[:12].hex()} "
                f"(sniffed: {audio.sniff(data)})",
            )


@delta_case(
    "MH-DELTA-009",
    "One announced audio format",
    "Every text part of a response carries its audio in one format, the same for all parts and "
    "one the profile says the server produces (in stream mode a part's deltas are joined; a "
    "delta of it whose bytes sniff as a format must sniff as the part's).",
)
async def one_format(ctx: CaseContext) -> None:
    _, payloads = await _deltas(ctx)
    allowed = list(ctx.profile.section("capabilities").get("audio_formats", []))
    formats: list[str | None] = []
    for part in _mode_parts(ctx, payloads):
        sniffed = [audio.sniff(b) for b in _part_audio(ctx, part)]
        joined = sniffed[0]
        mixed = sorted({str(f) for f in sniffed[1:] if f is not None and f != joined})
        ctx.check(
            not mixed,
            f"{_ids(part)} mixes formats: {joined} then {', '.join(mixed)}",
            expected="one format within a text part",
            observed=f"formats by delta id: {sniffed}",
        )
        formats.append(joined)
    ctx.check(
        len(set(formats)) == 1 and formats[0] in allowed,
        f"the text parts carry {sorted({str(f) for f in formats})}",
        expected=f"one format of {allowed}",
        observed=f"formats by part, in id order: {formats}",
    )


@delta_case(
    "MH-DELTA-010",
    "Audio long enough for its text",
    "The response's audio lasts at least a second per 40 characters of its text (no speech is "
    "faster).",
    level=Level.SHOULD,
)
async def plausible_duration(ctx: CaseContext) -> None:
    _, payloads = await _deltas(ctx)
    total_ms = 0
    for part in _mode_parts(ctx, payloads):
        pieces = [b for b in (_audio_bytes(p) for p in part) if b is not None]
        ms, problem = _part_decoded(pieces) if pieces else (0, "no audio")
        if problem:
            ctx.blocked(f"the audio of {_ids(part)} does not decode (see MH-DELTA-008)")
        total_ms += ms
    chars = sum(len(str(p.get("text", ""))) for p in payloads)
    ctx.check(
        total_ms >= 1000 * chars / 40,
        f"{total_ms} ms of audio for {chars} characters",
        expected=f"at least {1000 * chars / 40:.0f} ms",
        observed=f"{total_ms} ms",
    )


@delta_case(
    "MH-DELTA-011",
    "In id order when isOrdered",
    "With TTS.isOrdered true, deltas arrive in id order.",
    modes=[m for m in MODES if m.is_ordered],
)
async def ordered(ctx: CaseContext) -> None:
    _, payloads = await _deltas(ctx)
    ids = [p.get("id") for p in payloads]
    ctx.check(
        ids == sorted(ids, key=lambda i: i if isinstance(i, int) else -1),
        "deltas arrived out of id order although isOrdered is true",
        expected="ids ascending",
        observed=f"ids {ids}",
    )


@delta_case(
    "MH-DELTA-012",
    "The done delta arrives last",
    "The delta with done true is the last to arrive (the documents leave it open in unordered "
    "mode; informational).",
    level=Level.MAY,
)
async def done_last(ctx: CaseContext) -> None:
    _, payloads = await _deltas(ctx)
    ctx.check(
        bool(payloads) and payloads[-1].get("done") is True,
        "a delta arrived after the one with done true",
        expected="done true on the last delta to arrive",
        observed=f"ids in arrival order {[p.get('id') for p in payloads]}",
    )


@delta_case(
    "MH-DELTA-013",
    "Each stream delta decodes alone",
    "In stream mode each delta's audio decodes on its own (the documents only require a text "
    "part's deltas to decode joined; informational).",
    level=Level.MAY,
    modes=[m for m in MODES if m.response_type == "stream"],
)
async def stream_delta_decodes_alone(ctx: CaseContext) -> None:
    _, payloads = await _deltas(ctx)
    alone = []
    for p in _by_id(payloads):
        data = _audio_bytes(p)
        alone.append(data is not None and not _decoded(data)[1])
    ctx.check(
        all(alone),
        f"{alone.count(False)} of {len(alone)} stream deltas do not decode alone",
        expected="each delta a playable file",
        observed="ids that do not decode alone: "
        + str([p.get("id") for p, ok in zip(_by_id(payloads), alone, strict=True) if not ok]),
    )


@CATALOGUE.case(
    "MH-TIME-002",
    title="The answer's deltas keep coming until done",
    clause="Once the answer's audio begins, response.audio.delta events keep arriving (no gap "
    "longer than timeouts.stall) until the one with done true, within timeouts.turn of the "
    "commit.",
    level=Level.MUST,
    area="timing",
    source="the profile's timeouts.stall and timeouts.turn",
    variants=mode_variants(),
)
async def stream_in_time(ctx: CaseContext) -> None:
    mode: Mode = ctx.params["mode"]
    t = await turn(ctx, mode)
    arrived(ctx, t.updated, Event.SESSION_UPDATED, ctx.timeouts.event)
    joined(ctx, t)
    if not t.deltas:
        ctx.blocked("no response.audio.delta came (see MH-TIME-001)")
    payloads = [dict(e.payload) if isinstance(e.payload, Mapping) else {} for e in t.deltas]
    ctx.check(
        t.deltas_done,
        f"the delta stream stopped arriving: {_unended(ctx, t, payloads)}",
        expected=f"deltas until done true, gaps within {ctx.timeouts.stall.cited}, the whole "
        f"answer within {ctx.timeouts.turn.cited}",
        observed=f"{len(payloads)} deltas, none with done true: {shown(_heads(payloads))}",
    )
