"""The offline providers of the reference servers: deterministic, and real audio."""

from __future__ import annotations

import asyncio

import pytest

from conformance import audio
from conformance.fixtures import clips
from conformance.protocols.metahuman.reference.config import LlmConfig, SttConfig, TtsConfig
from conformance.protocols.metahuman.reference.providers import (
    FAILURE_MARKER,
    OfflineLanguageModel,
    OfflineSpeechToText,
    OfflineTextToSpeech,
    ProviderError,
)
from conformance.protocols.providers import answer, recognised, sentences, speech
from tests.unit.signals import white_noise

STT = SttConfig(provider="openai", language_code="fr-FR")
LLM = LlmConfig(provider="openai", prompt="You are a helpful guide.")
TTS = TtsConfig(provider="openai")


@pytest.mark.parametrize("fmt", ["wav", "mp3", "webm", "ogg"])
def test_stt_recognises_every_fixture_by_content(fmt: str) -> None:
    """Each fixture clip, in each format, is transcribed to its known text."""
    for clip in clips():
        heard = asyncio.run(OfflineSpeechToText().transcribe(clip.files[fmt].read_bytes(), STT))
        assert heard.text == clip.text
        assert heard.language == "fr-FR"
        assert heard.sentiment == ""


def test_stt_unknown_audio_gets_a_stable_transcript() -> None:
    """Audio that is no fixture gets the same non-empty transcript every time."""
    noise = audio.encode(white_noise(1500, seed=7), "wav")
    first = asyncio.run(OfflineSpeechToText().transcribe(noise, STT))
    second = asyncio.run(OfflineSpeechToText().transcribe(noise, STT))
    assert first == second
    assert first.text
    assert first.text not in {c.text for c in clips()}


def test_stt_sentiment_when_asked() -> None:
    """Sentiment analysis labels the transcript only when it is switched on."""
    thanks = next(c for c in clips() if c.name == "thank_you").files["wav"].read_bytes()
    config = SttConfig(provider="aws", sentiment_analysis=True)
    assert asyncio.run(OfflineSpeechToText().transcribe(thanks, config)).sentiment == "positive"


def test_stt_rejects_what_is_not_audio() -> None:
    """Bytes that are not audio raise AudioDecodeError."""
    with pytest.raises(audio.AudioDecodeError):
        asyncio.run(OfflineSpeechToText().transcribe(b"definitely not audio", STT))


def test_llm_is_deterministic_and_several_sentences() -> None:
    """The answer depends only on transcript and prompt, and has several sentences."""
    first = asyncio.run(OfflineLanguageModel().complete("what time is it", LLM))
    assert first == asyncio.run(OfflineLanguageModel().complete("what time is it", LLM))
    assert len(sentences(first)) >= 3
    assert "what time is it" in first
    other_prompt = LlmConfig(provider="openai", prompt="Speak like a pirate.")
    assert asyncio.run(OfflineLanguageModel().complete("what time is it", other_prompt)) != first


def test_llm_honours_max_token_and_stop() -> None:
    """maxToken caps the words; a stop sequence cuts the answer before it."""
    capped = LlmConfig(provider="openai", max_token=4)
    assert len(asyncio.run(OfflineLanguageModel().complete("hello there", capped)).split()) == 4
    stopped = LlmConfig(provider="openai", stop=("there",))
    assert asyncio.run(OfflineLanguageModel().complete("hello there", stopped)) == "You said hello"


def test_provider_failure_marker() -> None:
    """A prompt with the failure marker makes the provider fail."""
    with pytest.raises(ProviderError):
        asyncio.run(
            OfflineLanguageModel().complete("hi", LlmConfig(provider="x", prompt=FAILURE_MARKER))
        )
    with pytest.raises(ProviderError):
        asyncio.run(
            OfflineSpeechToText().transcribe(b"", SttConfig(provider="x", prompt=FAILURE_MARKER))
        )


@pytest.mark.parametrize("fmt", audio.FORMATS)
def test_tts_audio_follows_the_text(fmt: str) -> None:
    """Synthesized audio decodes, in the provider's format, longer for a longer text."""
    tts = OfflineTextToSpeech(output_format=fmt)
    short = asyncio.run(tts.synthesize("Hello there.", TTS))
    long = asyncio.run(tts.synthesize("Hello there. This sentence is a good deal longer.", TTS))
    assert audio.sniff(short) == fmt
    short_ms, long_ms = (audio.duration_ms(audio.decode(a)) for a in (short, long))
    assert 500 < short_ms < long_ms
    assert long_ms > 2 * short_ms


def test_tts_speed_shortens_audio() -> None:
    """A faster speed gives shorter audio."""
    tts = OfflineTextToSpeech()
    text = "The quick brown fox jumps over the lazy dog."
    slow = audio.duration_ms(audio.decode(asyncio.run(tts.synthesize(text, TTS))))
    fast_config = TtsConfig(provider="openai", speed=2.0)
    fast = audio.duration_ms(audio.decode(asyncio.run(tts.synthesize(text, fast_config))))
    assert fast < 0.7 * slow


def test_shared_answer_is_metahumans_llm_given_the_same_settings() -> None:
    """MetaHuman's offline LLM is the shared answer, its settings mapped onto the arguments."""
    config = LlmConfig(provider="openai", prompt="Be brief.", stop=("moment",), max_token=9)
    said = asyncio.run(OfflineLanguageModel().complete("what time is it", config))
    assert said == answer("what time is it", prompt="Be brief.", stop=("moment",), max_token=9)
    assert answer("hello") == answer("hello", prompt="")


def test_shared_recognition_names_a_clip_or_describes_the_audio() -> None:
    """A fixture clip is heard as its text; other audio as a stable description of its length."""
    for clip in clips():
        assert recognised(audio.decode(clip.files["wav"].read_bytes())) == clip.text
    assert recognised(white_noise(1500, seed=7)) == "an audio message of 1.5 seconds"


def test_shared_speech_is_16khz_mono_and_follows_the_text() -> None:
    """The shared voice: 16 kHz mono, longer for a longer text, the same every time."""
    short, long = speech("Hello there."), speech("Hello there. And a good deal more to say.")
    assert (short.frame_rate, short.channels) == (16_000, 1)
    assert len(short) < len(long)
    assert speech("Hello there.").raw_data == short.raw_data
