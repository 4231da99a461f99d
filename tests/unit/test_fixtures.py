"""conformance.fixtures: the committed clips, their index, and recognising them by content."""

from __future__ import annotations

import hashlib
import json
import random
from functools import cache

import pytest

from conformance import audio
from conformance.audio import AudioSegment
from conformance.fixtures import Clip, clip, clips, recognise, scores
from conformance.resources import fixtures_dir
from tests.unit.signals import tone, white_noise

COMMITTED_FORMATS = ("wav", "mp3", "webm", "ogg")
CLIP_NAMES = [c.name for c in clips()]
THRESHOLD = 0.9
# The best score a non-matching input may reach: well below THRESHOLD, so recognition does not
# hinge on a few points of correlation. Measured maximum: 0.33 (another clip, a tone, noise).
MAX_WRONG_SCORE = 0.6


@cache
def decoded(name: str, fmt: str) -> AudioSegment:
    return audio.decode(clip(name).files[fmt].read_bytes())


# --- the committed files and index.json --------------------------------------------------------


def test_index_lists_three_english_clips_in_four_formats() -> None:
    """index.json lists three en-US clips of 1.5-3.5 s, each with wav, mp3, webm and ogg files."""
    assert len(clips()) == 3
    for c in clips():
        assert c.language == "en-US"
        assert c.text
        assert 1500 <= c.duration_ms <= 3500
        assert set(c.files) == set(COMMITTED_FORMATS)


@pytest.mark.parametrize("name", CLIP_NAMES)
def test_index_sha256_and_size_match_the_files(name: str) -> None:
    """Each file's sha256 and byte count in index.json match the committed bytes."""
    entry = next(
        e
        for e in json.loads((fixtures_dir("audio") / "index.json").read_text())
        if e["name"] == name
    )
    for fmt, spec in entry["files"].items():
        data = (fixtures_dir("audio") / spec["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == spec["sha256"], f"{name}.{fmt}"
        assert len(data) == spec["bytes"], f"{name}.{fmt}"


@pytest.mark.parametrize("name", CLIP_NAMES)
def test_index_duration_and_envelope_match_the_wav(name: str) -> None:
    """The stored duration and envelope are those of the clip's master WAV (to 4 decimals)."""
    master = decoded(name, "wav")
    assert clip(name).duration_ms == audio.duration_ms(master)
    recomputed = audio.envelope(master)
    assert len(clip(name).envelope) == len(recomputed)
    assert max(abs(a - b) for a, b in zip(clip(name).envelope, recomputed, strict=True)) < 1e-4


def test_fixtures_stay_small() -> None:
    """All committed audio fixtures together stay under 600 KB."""
    folder = fixtures_dir("audio")
    total = sum(p.stat().st_size for p in folder.iterdir() if p.suffix != ".py")
    assert total < 600_000


def test_clip_looks_up_by_name() -> None:
    """clip(name) returns the Clip of that name, with absolute paths to existing files."""
    found = clip("robot_story")
    assert isinstance(found, Clip)
    assert found.text == "please tell me a short story about a robot"
    assert all(path.is_absolute() and path.is_file() for path in found.files.values())


def test_clip_raises_key_error_naming_known_clips() -> None:
    """An unknown name raises KeyError that lists the known clips."""
    with pytest.raises(KeyError, match="robot_story"):
        clip("no_such_clip")


def test_clips_returns_a_fresh_list_of_frozen_clips() -> None:
    """Mutating the list clips() returned does not change the cache, and Clips are frozen."""
    first = clips()
    first.clear()
    assert len(clips()) == 3
    with pytest.raises(AttributeError):
        clips()[0].name = "changed"  # type: ignore[misc]


# --- recognise ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CLIP_NAMES)
@pytest.mark.parametrize("fmt", COMMITTED_FORMATS)
def test_every_clip_is_recognised_in_every_format(name: str, fmt: str) -> None:
    """Each committed file is recognised as its own clip, with a score near 1."""
    found = recognise(decoded(name, fmt), THRESHOLD)
    assert found is not None
    assert found.name == name
    assert scores(decoded(name, fmt))[name] > 0.99


@pytest.mark.parametrize("name", CLIP_NAMES)
@pytest.mark.parametrize("fmt", audio.FORMATS)
def test_clip_reencoded_by_us_is_recognised(name: str, fmt: str) -> None:
    """The master re-encoded by encode() in any format (Opus-in-Ogg, FLAC too) is recognised."""
    segment = audio.decode(audio.encode(decoded(name, "wav"), fmt))
    found = recognise(segment, THRESHOLD)
    assert found is not None
    assert found.name == name


@pytest.mark.parametrize("name", CLIP_NAMES)
@pytest.mark.parametrize("fmt", COMMITTED_FORMATS)
def test_clip_is_recognised_after_arbitrary_chunking(name: str, fmt: str) -> None:
    """A file split into random-sized chunks (as streamed) and joined back is recognised."""
    data = clip(name).files[fmt].read_bytes()
    rng = random.Random(f"{name}.{fmt}")
    chunks, start = [], 0
    while start < len(data):
        size = rng.randint(1, 4096)
        chunks.append(data[start : start + size])
        start += size
    found = recognise(audio.decode(b"".join(chunks)), THRESHOLD)
    assert found is not None
    assert found.name == name


@pytest.mark.parametrize("name", CLIP_NAMES)
def test_clip_is_recognised_from_joined_pcm_chunks(name: str) -> None:
    """The clip's PCM streamed in uneven slices and joined as AudioSegments is recognised."""
    master = decoded(name, "wav")
    rng = random.Random(name)
    pieces, start = [], 0
    while start < len(master):
        step = rng.randint(20, 240)
        pieces.append(master[start : start + step])
        start += step
    joined = sum(pieces[1:], pieces[0])
    found = recognise(joined, THRESHOLD)
    assert found is not None
    assert found.name == name


@pytest.mark.parametrize("name", CLIP_NAMES)
@pytest.mark.parametrize("fmt", ["wav", "webm"])
@pytest.mark.parametrize(("lead_ms", "trail_ms"), [(300, 0), (0, 1500), (1000, 1000)])
def test_clip_is_recognised_with_silence_around_it(
    name: str, fmt: str, lead_ms: int, trail_ms: int
) -> None:
    """Silence before or after the clip (a lead-in, a VAD's end-of-turn gap) is ignored."""
    segment = decoded(name, fmt)
    padded = (
        AudioSegment.silent(lead_ms, segment.frame_rate)
        + segment
        + AudioSegment.silent(trail_ms, segment.frame_rate)
    )
    found = recognise(padded, THRESHOLD)
    assert found is not None
    assert found.name == name


@pytest.mark.parametrize("name", CLIP_NAMES)
@pytest.mark.parametrize("fmt", COMMITTED_FORMATS)
def test_other_clips_score_well_below_threshold(name: str, fmt: str) -> None:
    """Against every other clip a file scores below 0.6, far under the 0.9 threshold."""
    by_name = scores(decoded(name, fmt))
    print(f"{name}.{fmt}: " + ", ".join(f"{k}={v:.3f}" for k, v in by_name.items()))
    wrong = max(v for k, v in by_name.items() if k != name)
    assert wrong < MAX_WRONG_SCORE


@pytest.mark.parametrize("name", CLIP_NAMES)
@pytest.mark.parametrize("kind", ["silence", "tone", "noise"])
def test_non_speech_is_not_recognised(name: str, kind: str) -> None:
    """Silence, a 440 Hz tone or white noise of a clip's length is recognised as no clip."""
    ms = clip(name).duration_ms
    segment = {
        "silence": AudioSegment.silent(ms, 16_000),
        "tone": tone(ms),
        "noise": white_noise(ms, seed=ms),
    }[kind]
    by_name = scores(segment)
    print(f"{kind} {ms} ms: " + ", ".join(f"{k}={v:.3f}" for k, v in by_name.items()))
    assert recognise(segment, THRESHOLD) is None
    assert max(by_name.values()) < MAX_WRONG_SCORE


def test_a_clip_is_not_recognised_as_a_spliced_mixture() -> None:
    """Half of one clip joined to half of another is recognised as neither."""
    a, b = decoded("hello_weather", "wav"), decoded("robot_story", "wav")
    mixture = a[: len(a) // 2] + b[len(b) // 2 :]
    assert recognise(mixture, THRESHOLD) is None


def test_threshold_is_honoured() -> None:
    """A threshold above the best score makes recognise return None."""
    segment = decoded("thank_you", "mp3")
    assert recognise(segment, threshold=max(scores(segment).values()) + 0.001) is None
