"""How one response becomes `response.audio.delta` events (PROTOCOLS.md §1 [default]).

Within one response `id` runs 0 .. totalNumber-1, each once; `done` is true on the last one
only; `streamPartDone` on the last delta of each text part (sentence); the texts, joined with
single spaces in id order, give the `response.text`. `single` gives one delta, `chain` one per
sentence, `stream` chunks of a few words per sentence, with `totalNumber` 0 until the final
delta (a streaming server does not know the count before it ends).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from conformance import audio
from conformance.protocols.metahuman.events import ResponseType
from conformance.protocols.providers import sentences

__all__ = ["STREAM_CHUNK_WORDS", "PlannedDelta", "byte_slices", "parts", "plan", "send_order"]

STREAM_CHUNK_WORDS = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedDelta:
    """A delta before its audio is synthesized."""

    id: int
    text: str
    done: bool
    stream_part_done: bool
    total_number: int


def _parts(text: str, response_type: ResponseType) -> list[list[str]]:
    """Text parts (sentences), each split into the texts of its deltas."""
    if response_type is ResponseType.SINGLE:
        return [[" ".join(text.split())]]
    parts = sentences(text) or [""]
    if response_type is ResponseType.CHAIN:
        return [[part] for part in parts]
    chunks: list[list[str]] = []
    for part in parts:
        words = part.split() or [""]
        chunks.append(
            [
                " ".join(words[i : i + STREAM_CHUNK_WORDS])
                for i in range(0, len(words), STREAM_CHUNK_WORDS)
            ]
        )
    return chunks


def plan(text: str, response_type: ResponseType) -> list[PlannedDelta]:
    """The deltas of one response, in id order."""
    texts: list[tuple[str, bool]] = []
    for part in _parts(text, response_type):
        texts.extend((chunk, i == len(part) - 1) for i, chunk in enumerate(part))
    total = len(texts)
    streaming = response_type is ResponseType.STREAM
    return [
        PlannedDelta(
            id=i,
            text=chunk,
            done=i == total - 1,
            stream_part_done=part_done,
            total_number=total if (not streaming or i == total - 1) else 0,
        )
        for i, (chunk, part_done) in enumerate(texts)
    ]


def send_order(deltas: list[PlannedDelta], is_ordered: bool) -> list[PlannedDelta]:
    """The order deltas go on the wire.

    With `isOrdered` false the reference swaps neighbours, as parallel synthesis would, but
    keeps the `done` delta last: a client may then read `done` either as "the highest id" or as
    "the last to arrive", and both hold.
    """
    if is_ordered or len(deltas) < 3:
        return list(deltas)
    head, last = deltas[:-1], deltas[-1]
    swapped: list[PlannedDelta] = []
    for i in range(0, len(head) - 1, 2):
        swapped += [head[i + 1], head[i]]
    if len(head) % 2:
        swapped.append(head[-1])
    return [*swapped, last]


def parts(deltas: list[PlannedDelta]) -> list[list[PlannedDelta]]:
    """The deltas of each text part, in id order: a part ends at `streamPartDone` true."""
    grouped: list[list[PlannedDelta]] = [[]]
    for delta in sorted(deltas, key=lambda d: d.id):
        grouped[-1].append(delta)
        if delta.stream_part_done:
            grouped.append([])
    return [part for part in grouped if part]


def byte_slices(data: bytes, weights: list[int]) -> list[bytes]:
    """`data` cut into `len(weights)` slices sized by weight, at arbitrary bytes.

    What a streaming TTS engine sends: slices of one encoded file that join back into it. No
    cut lands where the rest would look like an audio file of its own (an MPEG frame header, a
    container's magic), so a slice after the first never decodes alone. Slices are non-empty
    when `data` has at least as many bytes as there are weights.
    """
    count = len(weights)
    total = sum(weights)
    cuts: list[int] = []
    done = 0
    for i, weight in enumerate(weights[:-1]):
        done += weight
        cut = max(cuts[-1] + 1 if cuts else 1, len(data) * done // total + 7)
        while audio.sniff(data[cut:]) is not None:
            cut += 1
        cuts.append(min(cut, len(data) - (count - 1 - i)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]
