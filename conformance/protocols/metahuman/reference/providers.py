"""The provider interface (STT, LLM, TTS) and its offline, deterministic implementation.

A real provider (OpenAI, AWS, ...) implements the same three protocols; the server only sees
`Providers`. The offline ones serve every provider name of the seed the same way: same input,
same output, whatever the model, voice or temperature. They map the seed's settings onto the
models every reference shares (`conformance/protocols/providers.py`); recognising audio that is
no fixture clip as words, and sentiment, are MetaHuman's own.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass, field
from typing import Protocol

from conformance import audio, fixtures
from conformance.protocols.metahuman.reference.config import LlmConfig, SttConfig, TtsConfig
from conformance.protocols.providers import answer, spoken

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


@dataclass(frozen=True, slots=True)
class OfflineLanguageModel:
    async def complete(self, transcript: str, config: LlmConfig) -> str:
        if FAILURE_MARKER in config.prompt:
            raise ProviderError("language model provider failed (failure marker in LLM.prompt)")
        # The seed's LLM settings, mapped onto the shared offline answer.
        return answer(
            transcript, prompt=config.prompt, stop=config.stop, max_token=config.max_token
        )


# --- text to speech -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OfflineTextToSpeech:
    output_format: str = "mp3"

    async def synthesize(self, text: str, config: TtsConfig) -> bytes:
        return await asyncio.to_thread(self._synthesize, text, config)

    def _synthesize(self, text: str, config: TtsConfig) -> bytes:
        return spoken(text, self.output_format, config.speed)


@dataclass(frozen=True, slots=True, kw_only=True)
class Providers:
    stt: SpeechToText = field(default_factory=OfflineSpeechToText)
    llm: LanguageModel = field(default_factory=OfflineLanguageModel)
    tts: TextToSpeech = field(default_factory=OfflineTextToSpeech)
