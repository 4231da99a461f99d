"""conformance.audio: sniffing, in-process decoding and encoding, and the envelope fingerprint."""

from __future__ import annotations

import subprocess
import sys
from functools import cache

import pytest

from conformance import audio
from conformance.audio import AudioDecodeError, AudioSegment
from conformance.fixtures import clip, clips
from tests.unit.signals import tone

COMMITTED_FORMATS = ("wav", "mp3", "webm", "ogg")
CLIP_NAMES = [c.name for c in clips()]
# The committed mp3s come from sox/LAME without a gapless (LAME/Xing) tag, so they decode with the
# encoder's delay and padding: about 100 ms more than the master.
FIXTURE_TOLERANCE_MS = {"wav": 0, "webm": 60, "ogg": 60, "mp3": 150}
ROUND_TRIP_TOLERANCE_MS = 60


@cache
def fixture_bytes(name: str, fmt: str) -> bytes:
    return clip(name).files[fmt].read_bytes()


@cache
def master(name: str = "robot_story") -> AudioSegment:
    return audio.decode(fixture_bytes(name, "wav"))


# --- sniff -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"ID3\x04\x00\x00\x00\x00\x00\x0a", "mp3"),
        (b"\xff\xfb\x90\x64", "mp3"),  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz
        (b"\xff\xf3\x88\xc4", "mp3"),  # MPEG-2 layer III, 64 kbit/s, 16 kHz (the sox fixtures)
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "wav"),
        (b"OggS\x00\x02", "ogg"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "webm"),
        (b"fLaC\x00\x00\x00\x22", "flac"),
    ],
)
def test_sniff_names_container_from_magic_bytes(head: bytes, expected: str) -> None:
    """A container's magic bytes (ID3 or MPEG frame sync, RIFF/WAVE, OggS, EBML, fLaC) name it."""
    assert audio.sniff(head) == expected


@pytest.mark.parametrize("name", CLIP_NAMES)
@pytest.mark.parametrize("fmt", COMMITTED_FORMATS)
def test_sniff_names_every_fixture_file(name: str, fmt: str) -> None:
    """Every committed fixture file sniffs as the format its extension says."""
    assert audio.sniff(fixture_bytes(name, fmt)) == fmt


@pytest.mark.parametrize("fmt", audio.FORMATS)
def test_sniff_names_our_own_encodings(fmt: str) -> None:
    """What encode() writes sniffs as the format asked for (mp3 here starts with ID3)."""
    assert audio.sniff(audio.encode(master()[:300], fmt)) == fmt


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"hello world",
        bytes(64),
        b"\xff\xf1\x50\x80\x02\x1f\xfc",  # AAC ADTS: a frame sync, but layer 00
        b"\xff\xfb",  # a frame sync too short to check
        b"RIFF\x24\x00\x00\x00AVI LIST",
        b"\x00\x00\x00\x20ftypisom",  # MP4
        b'{"type": "input_audio_buffer.append"}',
    ],
)
def test_sniff_returns_none_for_other_bytes(junk: bytes) -> None:
    """Bytes that start with none of the five magic numbers sniff as None."""
    assert audio.sniff(junk) is None


# --- decode ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CLIP_NAMES)
@pytest.mark.parametrize("fmt", COMMITTED_FORMATS)
def test_decode_every_fixture_file(name: str, fmt: str) -> None:
    """Every committed file decodes in-process to mono s16 speech of the clip's duration."""
    segment = audio.decode(fixture_bytes(name, fmt))
    assert segment.sample_width == 2
    assert segment.channels == 1
    assert segment.frame_rate in (16_000, 48_000)
    assert abs(audio.duration_ms(segment) - clip(name).duration_ms) <= FIXTURE_TOLERANCE_MS[fmt]
    assert segment.dBFS > -30  # speech, not silence


def test_decode_keeps_stereo_and_rate() -> None:
    """A stereo 44.1 kHz stream decodes to stereo 44.1 kHz PCM."""
    stereo = master()[:500].set_channels(2).set_frame_rate(44_100)
    segment = audio.decode(audio.encode(stereo, "flac"))
    assert (segment.channels, segment.frame_rate, audio.duration_ms(segment)) == (2, 44_100, 500)


def test_decode_of_wav_is_lossless() -> None:
    """A PCM16 WAV decodes to exactly the samples it holds."""
    segment = master()[:700]
    assert audio.decode(audio.encode(segment, "wav")).raw_data == segment.raw_data


def test_decode_rejects_empty_bytes() -> None:
    """Empty input raises AudioDecodeError saying it is empty."""
    with pytest.raises(AudioDecodeError, match="empty"):
        audio.decode(b"")


@pytest.mark.parametrize("junk", [b"hello world", bytes(2048), b"\x00\x00\x00\x20ftypisom" * 50])
def test_decode_rejects_unknown_container(junk: bytes) -> None:
    """Bytes of no known container raise AudioDecodeError naming the unknown container."""
    with pytest.raises(AudioDecodeError, match="unknown container"):
        audio.decode(junk)


@pytest.mark.parametrize("fmt", COMMITTED_FORMATS)
@pytest.mark.parametrize("keep", [12, 20, 36])
def test_decode_rejects_truncated_header(fmt: str, keep: int) -> None:
    """A file cut inside its header sniffs as its container but raises AudioDecodeError."""
    head = fixture_bytes("hello_weather", fmt)[:keep]
    with pytest.raises(AudioDecodeError, match=f"^{fmt} "):
        audio.decode(head)


@pytest.mark.parametrize(
    "data", [b"ID3", b"RIFF\x00\x00\x00\x00WAVE", b"OggS", b"\x1a\x45\xdf\xa3", b"fLaC"]
)
def test_decode_rejects_bare_magic(data: bytes) -> None:
    """Magic bytes with nothing after them raise AudioDecodeError, not an FFmpeg error."""
    with pytest.raises(AudioDecodeError):
        audio.decode(data)


def test_decode_error_is_a_value_error() -> None:
    """AudioDecodeError is a ValueError, so callers validating input can catch either."""
    assert issubclass(AudioDecodeError, ValueError)


# --- encode ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", audio.FORMATS)
@pytest.mark.parametrize(
    ("channels", "rate"),
    [(1, 16_000), (2, 44_100), (1, 8_000)],
    ids=["mono16k", "stereo44k", "mono8k"],
)
def test_encode_round_trips_through_decode(fmt: str, channels: int, rate: int) -> None:
    """encode() then decode() keeps the duration within 60 ms and the content's envelope."""
    source = master().set_channels(channels).set_frame_rate(rate)
    decoded = audio.decode(audio.encode(source, fmt))
    assert decoded.channels == channels
    assert abs(audio.duration_ms(decoded) - audio.duration_ms(source)) <= ROUND_TRIP_TOLERANCE_MS
    assert audio.similarity(audio.envelope(decoded), audio.envelope(source)) > 0.95


@pytest.mark.parametrize("fmt", audio.FORMATS)
def test_encode_is_deterministic(fmt: str) -> None:
    """The same PCM encodes to the same bytes (bit-exact muxing: no random serials or UIDs)."""
    segment = master()[:400]
    assert audio.encode(segment, fmt) == audio.encode(segment, fmt)


@pytest.mark.parametrize("fmt", ["aac", "MP3", "", "m4a"])
def test_encode_rejects_unknown_format(fmt: str) -> None:
    """A format outside FORMATS raises ValueError listing the valid ones."""
    with pytest.raises(ValueError, match="mp3, wav, ogg, webm, flac"):
        audio.encode(master()[:100], fmt)


# --- duration, envelope, similarity ------------------------------------------------------------


def test_duration_ms_is_whole_milliseconds() -> None:
    """duration_ms() is the segment's length in whole milliseconds."""
    assert audio.duration_ms(AudioSegment.silent(1234, 16_000)) == 1234


def test_envelope_is_rms_per_frame_normalised_to_one() -> None:
    """The envelope has one value per 20 ms frame, all in [0, 1], with a maximum of exactly 1."""
    env = audio.envelope(master())
    assert len(env) == audio.duration_ms(master()) // 20
    assert max(env) == 1.0
    assert min(env) >= 0.0


def test_envelope_ignores_rate_channels_and_gain() -> None:
    """Resampling, a second channel and a gain change leave the envelope (nearly) unchanged."""
    base = audio.envelope(master())
    changed = audio.envelope(master().set_frame_rate(44_100).set_channels(2).apply_gain(-12))
    assert audio.similarity(base, changed) > 0.999


def test_envelope_of_silence_is_all_zero() -> None:
    """Digital silence has an all-zero envelope rather than a division by zero."""
    assert audio.envelope(AudioSegment.silent(200, 16_000)) == [0.0] * 10


def test_envelope_rejects_a_non_positive_frame() -> None:
    """frame_ms must be positive."""
    with pytest.raises(ValueError, match="frame_ms"):
        audio.envelope(master(), frame_ms=0)


def test_similarity_of_an_envelope_with_itself_is_one() -> None:
    """An envelope matches itself with similarity 1."""
    env = audio.envelope(master())
    assert audio.similarity(env, env) == pytest.approx(1.0)


def test_similarity_finds_a_shift_within_max_lag() -> None:
    """A copy delayed by a few frames still scores ~1 because lags are searched."""
    env = audio.envelope(master())
    delayed = [0.0] * 4 + env[:-4]
    assert audio.similarity(env, delayed) > 0.99
    assert audio.similarity(env, delayed, max_lag=0) < 0.9


def test_similarity_is_zero_when_durations_differ_by_more_than_15_percent() -> None:
    """Envelopes whose lengths differ by more than 15% score 0 whatever their shape."""
    env = audio.envelope(master())
    assert audio.similarity(env, env[: int(len(env) * 0.84)]) == 0.0
    assert audio.similarity(env, env[: int(len(env) * 0.9)]) > 0.5


@pytest.mark.parametrize(
    ("a", "b"), [([], []), ([], [1.0]), ([0.0] * 50, [0.0] * 50), ([1.0] * 50, [1.0] * 50)]
)
def test_similarity_of_empty_or_flat_envelopes_is_zero(a: list[float], b: list[float]) -> None:
    """Empty or constant envelopes (no content) score 0 instead of dividing by zero."""
    assert audio.similarity(a, b) == 0.0


def test_similarity_stays_in_minus_one_to_one() -> None:
    """An inverted envelope scores close to -1, and no score leaves [-1, 1]."""
    env = audio.envelope(master())
    inverted = [1.0 - v for v in env]
    score = audio.similarity(env, inverted, max_lag=0)
    assert -1.0 <= score < -0.99
    assert -1.0 <= audio.similarity(env, inverted) <= 1.0


def test_a_tone_has_no_content_to_match() -> None:
    """A steady tone's envelope is flat, so it is similar to no speech envelope."""
    assert audio.similarity(audio.envelope(tone(2874)), audio.envelope(master())) < 0.2


def test_import_silences_pydubs_ffmpeg_warning() -> None:
    """Importing conformance.audio prints neither pydub's ffmpeg warning nor audioop's."""
    result = subprocess.run(
        [sys.executable, "-W", "always", "-c", "import conformance.audio"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "ffmpeg" not in result.stderr
    assert "audioop" not in result.stderr
