"""The EVI reference's offline "models": thin wrappers over the ones every reference shares
(`conformance/protocols/providers.py`).

Speech is recognised from the committed fixture clips (conformance.fixtures), answers come from
the shared offline answer and are spoken by the shared offline voice; the expression measures
are a stable function of the text. Everything is deterministic and offline.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from functools import cache
from typing import Any, Final

from conformance import audio, schemas
from conformance.audio import AudioSegment
from conformance.protocols.providers import answer, sentences, speech
from conformance.protocols.providers import recognised as transcribe

__all__ = [
    "answer_sentences",
    "audio_chunks",
    "emotion_scores",
    "spoken",
    "tool_arguments",
    "tool_sentences",
    "transcribe",
]

# A prompt asking for a long story gets a long answer: the interruption case speaks over it.
_LONG: Final = re.compile(r"\blong story\b", re.IGNORECASE)
_STORY: Final = (
    "Once upon a time, a small robot woke up in a quiet workshop.",
    "It looked around and saw tools, wires and a window full of stars.",
    "The robot wanted to know what lay beyond the window.",
    "So it rolled to the door, opened it, and went out into the night.",
    "It met a cat, a lamp post and a very surprised owl.",
    "By morning it had made three friends and learned a new word.",
    "And every night after that, it told the stars about its day.",
)


def answer_sentences(heard: str, system_prompt: str = "") -> list[str]:
    """The assistant's answer to what it heard, in sentences: short (two), or a long story."""
    said = answer(heard, prompt=system_prompt)
    first_two = sentences(said)[:2]  # "You said ...", then an opener: quick to speak
    return [*first_two[:1], *_STORY] if _LONG.search(heard) else first_two


def tool_sentences(tool: str, content: str) -> list[str]:
    """The assistant's answer once a tool has answered (or failed with this text)."""
    quoted = content.strip().rstrip(".!?") or "nothing"
    return [f"The {tool} tool says: {quoted}.", "I hope this helps."]


def tool_arguments(parameters: Mapping[str, Any], heard: str) -> dict[str, Any]:
    """Arguments for a tool call, one per property of its JSON schema, drawn from the text.

    A string gets the first capitalised word that does not start a sentence (`Paris` in "What
    is the weather in Paris?"), or the whole text; enums their first value; numbers 0.
    """
    names = [
        word
        for sentence in sentences(heard)
        for word in re.findall(r"[A-Za-z]+", sentence)[1:]
        if word[0].isupper()
    ]
    word = names[0] if names else heard.strip()
    arguments: dict[str, Any] = {}
    properties = parameters.get("properties", {})
    for name, spec in properties.items() if isinstance(properties, dict) else ():
        spec = spec if isinstance(spec, dict) else {}
        kind = spec.get("type")
        if spec.get("enum"):
            arguments[name] = spec["enum"][0]
        elif kind in ("integer", "number"):
            arguments[name] = 0
        elif kind == "boolean":
            arguments[name] = False
        elif kind == "array":
            arguments[name] = []
        elif kind == "object":
            arguments[name] = {}
        else:
            arguments[name] = word
    return arguments


@cache
def _emotions() -> tuple[str, ...]:
    # One list of the 48 names: the schema's (SDK 0.14.1's wire names).
    names: list[str] = schemas.schema("evi", "definitions")["$defs"]["EmotionScores"]["required"]
    return tuple(names)


def emotion_scores(text: str) -> dict[str, float]:
    """All 48 expression scores, in [0, 1), a stable function of the text."""
    digest = hashlib.sha512(text.encode()).digest()
    return {name: round(digest[n] / 256, 3) for n, name in enumerate(_emotions())}


def spoken(text: str) -> AudioSegment:
    """The offline voice saying `text` (16 kHz mono)."""
    return speech(text)


def audio_chunks(segment: AudioSegment, chunk_ms: int, *, whole: bool) -> list[bytes]:
    """The audio_output payloads of one utterance, each about `chunk_ms` long.

    The [default]: the byte slices of ONE WAV file (the RIFF header in the first); `whole`:
    each chunk a WAV file of its own.
    """
    if whole:
        return [
            audio.encode(segment[start : start + chunk_ms], "wav")
            for start in range(0, len(segment), chunk_ms)
        ]
    data = audio.encode(segment, "wav")
    step = segment.frame_rate * segment.frame_width * chunk_ms // 1000
    return [data[start : start + step] for start in range(0, len(data), step)]
