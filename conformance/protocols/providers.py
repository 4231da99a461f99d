"""The offline, deterministic "models" every reference server shares: hearing, answering and
speaking, with no network and the same output for the same input.

Protocol-neutral on purpose: each plug-in's `reference/providers.py` maps its own messages or
session config onto these (MetaHuman's `session.update` settings, Chat Mode's avatar, EVI's
system prompt), so no plug-in imports another's reference.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Sequence
from functools import lru_cache

from conformance import audio, fixtures
from conformance.audio import AudioSegment

__all__ = ["answer", "recognised", "sentences", "speech", "spoken"]


def sentences(text: str) -> list[str]:
    """The sentences of a text, stripped, in order."""
    return [s for s in (p.strip() for p in re.split(r"(?<=[.!?])\s+", text)) if s]


# --- hearing --------------------------------------------------------------------------------


def recognised(segment: AudioSegment) -> str:
    """The text of a fixture clip, or a stable description of other audio."""
    clip = fixtures.recognise(segment)
    if clip is not None:
        return clip.text
    return f"an audio message of {len(segment) / 1000:.1f} seconds"


# --- answering ------------------------------------------------------------------------------

_OPENERS = (
    "That is a good question.",
    "Thank you for asking.",
    "I am happy to help with that.",
    "Let me answer that briefly.",
)
_CLOSERS = (
    "Is there anything else you would like to know?",
    "I hope this helps.",
    "Tell me if you want more detail.",
)


def answer(
    transcript: str, *, prompt: str = "", stop: Sequence[str] = (), max_token: int = 0
) -> str:
    """Several sentences derived from the transcript and the prompt; cut before the first
    `stop` sequence found, then to `max_token` words (0: no limit)."""
    digest = hashlib.sha256(f"{prompt}\n{transcript}".encode()).digest()
    words = re.findall(r"[A-Za-z']+", transcript)
    topic = max(words, key=len) if words else "that"
    instructions = " ".join(prompt.split()[:5]).rstrip(".!?")
    parts = [
        f"You said {transcript.strip().rstrip('.!?')}.",
        _OPENERS[digest[0] % len(_OPENERS)],
        f"Let me think about {topic} for a moment.",
        f"My instructions begin with {instructions}." if instructions else "I follow no prompt.",
        _CLOSERS[digest[1] % len(_CLOSERS)],
    ]
    text = " ".join(parts)
    for sequence in stop:
        if sequence and sequence in text:
            text = text[: text.index(sequence)]
    tokens = text.split()
    if max_token > 0:
        tokens = tokens[:max_token]
    return " ".join(tokens)


# --- speaking -------------------------------------------------------------------------------

_SAMPLE_RATE = 16_000


@lru_cache(maxsize=4096)
def _word(word: str, speed: float) -> AudioSegment:
    # A voiced tone per word, its pitch from the word, its length from its letters.
    pitch = 110 + zlib.crc32(word.lower().encode()) % 140
    duration = (90 + 55 * len(word)) / speed
    return audio.tone(pitch, duration, sample_rate=_SAMPLE_RATE, volume_db=-14)


def speech(text: str, speed: float = 1.0) -> AudioSegment:
    """Speech-like audio (16 kHz mono) whose length follows the text (about 15 characters a
    second)."""
    speed = min(max(speed, 0.25), 4.0)  # OpenAI's documented range for `speed`
    out = AudioSegment.silent(duration=0, frame_rate=_SAMPLE_RATE)
    for token in text.split():
        out += _word(token, speed)
        pause = 260 if token[-1] in ".!?" else 120 if token[-1] in ",;:" else 50
        out += AudioSegment.silent(duration=pause / speed, frame_rate=_SAMPLE_RATE)
    if len(out) == 0:
        out = AudioSegment.silent(duration=200, frame_rate=_SAMPLE_RATE)
    return out


@lru_cache(maxsize=512)
def spoken(text: str, fmt: str, speed: float = 1.0) -> bytes:
    """`speech(text, speed)` encoded as `fmt`. Deterministic, so kept: a reference speaks the
    same sentences turn after turn, and encoding is most of what it spends (measured: about a
    third of an embedded MetaHuman run's CPU before this cache)."""
    return audio.encode(speech(text, speed), fmt)
