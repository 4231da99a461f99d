"""The provider interface (STT, LLM, TTS) and its offline, deterministic implementation.

A real provider (OpenAI, AWS, ...) implements the same three protocols; the server only sees
`Providers`. The offline ones serve every provider name of the seed the same way: same input,
same output, whatever the model, voice or temperature.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from conformance import audio, fixtures
from conformance.audio import AudioSegment
from conformance.protocols.metahuman.reference.config import LlmConfig, SttConfig, TtsConfig

__all__ = [
    "FAILURE_MARKER",
    "LanguageModel",
    "OfflineLanguageModel",
    "OfflineSpeechToText",
    "OfflineTextToSpeech",
    "ProviderError",
    "Providers",
    "SpeechToText",
    "TextToSpeech",
    "Transcription",
    "sentences",
]

# A prompt containing this marker makes the offline provider fail, so that the error path of
# a provider failure can be exercised without a network.
FAILURE_MARKER = "[[provider-failure]]"


class ProviderError(Exception):
    """A provider could not do its job (network, quota, refusal...)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Transcription:
    text: str
    language: str
    sentiment: str = ""  # empty when sentiment analysis is off (PROTOCOLS.md §1 [default])


class SpeechToText(Protocol):
    async def transcribe(self, data: bytes, config: SttConfig) -> Transcription:
        """Transcribe a committed buffer; `audio.AudioDecodeError` if it is not audio."""
        ...


class LanguageModel(Protocol):
    async def complete(self, transcript: str, config: LlmConfig) -> str: ...


class TextToSpeech(Protocol):
    @property
    def output_format(self) -> str:
        """The container its audio comes in (one of `audio.FORMATS`)."""
        ...

    async def synthesize(self, text: str, config: TtsConfig) -> bytes:
        """Audio of `text`, encoded in `output_format`."""
        ...


def sentences(text: str) -> list[str]:
    """The sentences of a text, stripped, in order."""
    return [s for s in (p.strip() for p in re.split(r"(?<=[.!?])\s+", text)) if s]


# --- speech to text -------------------------------------------------------------------------

_POSITIVE = frozenset(
    ["thank", "thanks", "great", "good", "love", "like", "nice", "please", "wonderful", "happy"]
)
_NEGATIVE = frozenset(
    ["bad", "hate", "terrible", "awful", "wrong", "sad", "angry", "never", "worst"]
)
_VOCABULARY = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
]


def _sentiment(text: str) -> str:
    words = re.findall(r"[a-z']+", text.lower())
    score = sum(w in _POSITIVE for w in words) - sum(w in _NEGATIVE for w in words)
    return "positive" if score > 0 else "negative" if score < 0 else "neutral"


def _transcribe(data: bytes, config: SttConfig) -> Transcription:
    if FAILURE_MARKER in config.prompt:
        raise ProviderError("speech-to-text provider failed (failure marker in STT.prompt)")
    segment = audio.decode(data)
    clip = fixtures.recognise(segment)
    if clip is not None:
        text = clip.text
    else:
        # Unknown audio: words drawn from its samples' hash, about 2.5 a second.
        seed = hashlib.sha256(segment.raw_data).digest()
        count = max(1, round(len(segment) / 400))
        text = " ".join(_VOCABULARY[seed[i % len(seed)] % len(_VOCABULARY)] for i in range(count))
    return Transcription(
        text=text,
        language=config.language_code,
        sentiment=_sentiment(text) if config.sentiment_analysis else "",
    )


@dataclass(frozen=True, slots=True)
class OfflineSpeechToText:
    """Recognises the fixture clips by their content; any other audio gets a stable text."""

    async def transcribe(self, data: bytes, config: SttConfig) -> Transcription:
        return await asyncio.to_thread(_transcribe, data, config)


# --- language model -------------------------------------------------------------------------

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


def answer(transcript: str, config: LlmConfig) -> str:
    """Several sentences derived from the transcript and the prompt; honours stop, maxToken."""
    digest = hashlib.sha256(f"{config.prompt}\n{transcript}".encode()).digest()
    words = re.findall(r"[A-Za-z']+", transcript)
    topic = max(words, key=len) if words else "that"
    instructions = " ".join(config.prompt.split()[:5]).rstrip(".!?")
    parts = [
        f"You said {transcript.strip().rstrip('.!?')}.",
        _OPENERS[digest[0] % len(_OPENERS)],
        f"Let me think about {topic} for a moment.",
        f"My instructions begin with {instructions}." if instructions else "I follow no prompt.",
        _CLOSERS[digest[1] % len(_CLOSERS)],
    ]
    text = " ".join(parts)
    for stop in config.stop:
        if stop and stop in text:
            text = text[: text.index(stop)]
    tokens = text.split()
    if config.max_token > 0:
        tokens = tokens[: config.max_token]
    return " ".join(tokens)


@dataclass(frozen=True, slots=True)
class OfflineLanguageModel:
    async def complete(self, transcript: str, config: LlmConfig) -> str:
        if FAILURE_MARKER in config.prompt:
            raise ProviderError("language model provider failed (failure marker in LLM.prompt)")
        return answer(transcript, config)


# --- text to speech -------------------------------------------------------------------------

_SAMPLE_RATE = 16_000


@lru_cache(maxsize=4096)
def _word(word: str, speed: float) -> AudioSegment:
    # A voiced tone per word, its pitch from the word, its length from its letters.
    pitch = 110 + zlib.crc32(word.lower().encode()) % 140
    duration = (90 + 55 * len(word)) / speed
    return audio.tone(pitch, duration, sample_rate=_SAMPLE_RATE, volume_db=-14)


def speech(text: str, speed: float = 1.0) -> AudioSegment:
    """Speech-like audio whose length follows the text (about 15 characters a second)."""
    speed = min(max(speed, 0.25), 4.0)  # OpenAI's documented range for `speed`
    out = AudioSegment.silent(duration=0, frame_rate=_SAMPLE_RATE)
    for token in text.split():
        out += _word(token, speed)
        pause = 260 if token[-1] in ".!?" else 120 if token[-1] in ",;:" else 50
        out += AudioSegment.silent(duration=pause / speed, frame_rate=_SAMPLE_RATE)
    if len(out) == 0:
        out = AudioSegment.silent(duration=200, frame_rate=_SAMPLE_RATE)
    return out


@dataclass(frozen=True, slots=True)
class OfflineTextToSpeech:
    output_format: str = "mp3"

    async def synthesize(self, text: str, config: TtsConfig) -> bytes:
        return await asyncio.to_thread(self._synthesize, text, config)

    def _synthesize(self, text: str, config: TtsConfig) -> bytes:
        return audio.encode(speech(text, config.speed), self.output_format)


@dataclass(frozen=True, slots=True, kw_only=True)
class Providers:
    stt: SpeechToText = field(default_factory=OfflineSpeechToText)
    llm: LanguageModel = field(default_factory=OfflineLanguageModel)
    tts: TextToSpeech = field(default_factory=OfflineTextToSpeech)
