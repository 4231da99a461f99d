"""The committed audio fixtures (fixtures/audio/index.json) and recognising them by content.

Each clip is real English speech with known text, committed in several formats. The offline
reference server's speech-to-text "recognises" a clip by its loudness envelope
(conformance.audio.envelope), so that it can answer with the clip's text whatever container the
client sent it in. The envelopes are stored in index.json; fixtures/audio/make_fixtures.py
regenerates everything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from conformance.audio import AudioSegment, envelope, similarity
from conformance.resources import fixtures_dir

__all__ = ["Clip", "clip", "clips", "recognise", "scores"]

# The frame the stored envelopes were computed with; index.json records it per clip.
_FRAME_MS: Final = 20
# The rate conformance.audio.envelope resamples to before measuring.
_ENVELOPE_RATE: Final = 16_000
# Sub-frame start offsets tried when matching: a codec's delay (an mp3 encoder's ~100 ms) rarely
# falls on a frame boundary, and half a frame of misalignment costs a few points of correlation.
_OFFSETS_MS: Final = (0, 5, 10, 15)
# Frames quieter than this (relative to the loudest) at either end are silence, not content:
# matching ignores them, so a clip streamed with silence before or after it (a client's
# push-to-talk lead-in, the trailing silence that ends a server-VAD turn) is still recognised.
_EDGE_SILENCE: Final = 0.02


@dataclass(frozen=True, slots=True, kw_only=True)
class Clip:
    """One fixture clip: its text and language, and its files by format (absolute paths)."""

    name: str
    text: str
    language: str
    duration_ms: int
    files: Mapping[str, Path] = field(hash=False)
    envelope: tuple[float, ...] = field(repr=False)


def _clip_from_entry(entry: Mapping[str, Any], folder: Path) -> Clip:
    """A Clip from one index.json entry; ValueError naming the clip if it is malformed."""
    name = str(entry.get("name", "?"))
    try:
        if entry.get("envelope_frame_ms", _FRAME_MS) != _FRAME_MS:
            raise ValueError(f"envelope_frame_ms must be {_FRAME_MS}")
        files = {fmt: folder / str(spec["path"]) for fmt, spec in entry["files"].items()}
        return Clip(
            name=name,
            text=str(entry["text"]),
            language=str(entry["language"]),
            duration_ms=int(entry["duration_ms"]),
            files=MappingProxyType(files),
            envelope=tuple(float(v) for v in entry["envelope"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{folder / 'index.json'}: clip {name!r} is malformed: {exc!r}") from exc


@cache
def _load() -> tuple[Clip, ...]:
    folder = fixtures_dir("audio")
    entries = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    return tuple(_clip_from_entry(entry, folder) for entry in entries)


def clips() -> list[Clip]:
    """Every fixture clip, in index.json order (read once, then cached)."""
    return list(_load())


def clip(name: str) -> Clip:
    """The fixture clip called `name`; KeyError naming the known clips otherwise."""
    for candidate in _load():
        if candidate.name == name:
            return candidate
    known = ", ".join(c.name for c in _load())
    raise KeyError(f"no fixture clip {name!r}; known clips: {known}")


def _trimmed(env: Sequence[float]) -> Sequence[float]:
    """The envelope without its leading and trailing silent frames."""
    loud = [i for i, value in enumerate(env) if value >= _EDGE_SILENCE]
    return env[loud[0] : loud[-1] + 1] if loud else env[:0]


def scores(segment: AudioSegment) -> dict[str, float]:
    """The similarity of the segment's envelope to each clip's, by clip name.

    Silence at either end of both envelopes is ignored; the score is the best over a few
    sub-frame start offsets (see `_OFFSETS_MS`) and the lags `similarity` searches.
    """
    # Convert once, so each offset's envelope does not resample the whole segment again.
    mono = segment.set_sample_width(2).set_channels(1).set_frame_rate(_ENVELOPE_RATE)
    shifted = [_trimmed(envelope(mono[offset:], _FRAME_MS)) for offset in _OFFSETS_MS]
    return {
        candidate.name: max(similarity(env, _trimmed(candidate.envelope)) for env in shifted)
        for candidate in _load()
    }


def recognise(segment: AudioSegment, threshold: float = 0.9) -> Clip | None:
    """The clip whose envelope best matches the segment's, if that similarity >= threshold."""
    by_name = scores(segment)
    if not by_name:
        return None
    best = max(by_name, key=by_name.__getitem__)
    return clip(best) if by_name[best] >= threshold else None
