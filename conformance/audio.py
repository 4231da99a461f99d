"""Audio in-process: sniff a container, decode it to PCM, encode PCM, and fingerprint content.

PyAV (whose wheels bundle FFmpeg with libmp3lame, libopus and flac) does all decoding and
encoding in-process; pydub's `AudioSegment` only holds the decoded PCM (durations, slicing,
joining, loudness). pydub's own `from_file`/`export` are never called for compressed formats:
they run `ffprobe`/`ffmpeg` binaries that pip-only machines do not have (see
../shared/DEPENDENCIES.md).

The fingerprint is a loudness envelope (RMS per 20 ms frame of 16 kHz mono, normalised to a
maximum of 1.0). It survives lossy codecs, resampling and codec padding, and `similarity`
compares two envelopes by their best Pearson correlation over small lags. That is how the
offline reference server "recognises" the committed fixture clips (conformance.fixtures).
"""

from __future__ import annotations

import io
import math
import operator
import warnings
from collections.abc import Iterator, Sequence
from typing import Final

import av
from av.audio.stream import AudioStream

# pydub warns at import that it found no ffmpeg binary. We never let pydub run ffmpeg, so that
# one warning is noise here. Python 3.11 and 3.12 also warn that audioop (which pydub, and
# envelope() below, use) is deprecated; pyproject.toml already adds audioop-lts for 3.13+.
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message="Couldn't find ffmpeg or avconv", category=RuntimeWarning
    )
    warnings.filterwarnings(
        "ignore", message="'audioop' is deprecated", category=DeprecationWarning
    )
    import audioop

    from pydub import AudioSegment
    from pydub.generators import Sine

__all__ = [
    "FORMATS",
    "AudioDecodeError",
    "AudioSegment",
    "decode",
    "duration_ms",
    "encode",
    "envelope",
    "similarity",
    "sniff",
    "tone",
]

FORMATS: tuple[str, ...] = ("mp3", "wav", "ogg", "webm", "flac")


class AudioDecodeError(ValueError):
    """Bytes that are not decodable audio in one of `FORMATS`; the message says why."""


# Demuxer and muxer names in FFmpeg for each of FORMATS.
_CONTAINER: Final[dict[str, str]] = {
    "mp3": "mp3",
    "wav": "wav",
    "ogg": "ogg",
    "webm": "webm",
    "flac": "flac",
}
_DEMUXER: Final[dict[str, str]] = {**_CONTAINER, "webm": "matroska"}
# A WAV header says all there is to know; FFmpeg's default probe reads further (for S/PDIF
# inside WAV) and makes opening a WAV cost 4 ms instead of 0.2 ms.
_OPEN_OPTIONS: Final[dict[str, dict[str, str]]] = {"wav": {"probesize": "32"}}
# PyAV's stub types a Flags member's .value as Flags; at run time it is FFmpeg's int flag.
_AVFMT_FLAG_BITEXACT: Final[int] = av.container.Flags.bitexact.value  # type: ignore[assignment]
_OPUS_RATE: Final = 48_000
_MP3_RATES: Final = frozenset({8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000})
_MP3_BITRATE_PER_CHANNEL: Final = 64_000
_OPUS_BITRATE_PER_CHANNEL: Final = 32_000
_ENVELOPE_RATE: Final = 16_000
_DURATION_TOLERANCE: Final = 0.15
_SAMPLE_WIDTH: Final = 2  # bytes per s16 sample
# Below this variance per frame an envelope is flat: silence or a steady tone, no content.
_FLAT: Final = 1e-9


def _is_mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG-1/2/2.5 audio frame header (layer I-III), not AAC ADTS (which has layer 00)."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0b11
    layer = (head[1] >> 1) & 0b11
    bitrate_index = head[2] >> 4
    rate_index = (head[2] >> 2) & 0b11
    return version != 0b01 and layer != 0b00 and bitrate_index != 0xF and rate_index != 0b11


def sniff(data: bytes) -> str | None:
    """The container of `data` from its magic bytes: one of `FORMATS`, or None."""
    if data.startswith(b"ID3") or _is_mpeg_audio_frame(data[:4]):
        return "mp3"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data.startswith(b"OggS"):
        return "ogg"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if data.startswith(b"fLaC"):
        return "flac"
    return None


def _pcm(frame: av.AudioFrame) -> bytes:
    """The packed s16 samples of a frame, without the plane's alignment padding."""
    size = frame.samples * frame.layout.nb_channels * _SAMPLE_WIDTH
    return bytes(frame.planes[0])[:size]


def _joined(frames: list[av.AudioFrame]) -> av.AudioFrame:
    """One frame holding the samples of consecutive frames of the same format, layout and rate.

    Converting one long frame costs a fraction of converting each 20 ms codec frame: PyAV's
    per-call overhead, not the conversion, dominates.
    """
    first = frames[0]
    if len(frames) == 1:
        return first
    per_sample = first.format.bytes * (1 if first.format.is_planar else first.layout.nb_channels)
    joined = av.AudioFrame(
        format=first.format.name, layout=first.layout, samples=sum(f.samples for f in frames)
    )
    for index, plane in enumerate(joined.planes):
        plane.update(b"".join(bytes(f.planes[index])[: f.samples * per_sample] for f in frames))
    joined.sample_rate = first.sample_rate
    return joined


def _to_s16(frames: list[av.AudioFrame]) -> tuple[bytes, int, int]:
    """Decoded frames as packed s16 PCM at the first frame's rate: (pcm, rate, channels).

    One or two channels are kept; more are mixed down to stereo.
    """
    rate = frames[0].sample_rate
    channels = min(frames[0].layout.nb_channels, 2)
    layout = "mono" if channels == 1 else "stereo"
    chunks: list[bytes] = []
    run: list[av.AudioFrame] = []

    def convert(run: list[av.AudioFrame]) -> None:
        # A fresh resampler per run: PyAV's refuses input whose format changes mid-stream.
        resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
        chunks.extend(_pcm(out) for out in resampler.resample(_joined(run)))
        chunks.extend(_pcm(out) for out in resampler.resample(None))

    for frame in frames:
        if run and _shape(frame) != _shape(run[0]):
            convert(run)
            run = []
        run.append(frame)
    convert(run)
    return b"".join(chunks), rate, channels


def _shape(frame: av.AudioFrame) -> tuple[str, int, int]:
    return frame.format.name, frame.layout.nb_channels, frame.sample_rate


def decode(data: bytes) -> AudioSegment:
    """Decode mp3, wav, ogg, webm or flac bytes to 16-bit PCM at the stream's own rate.

    One or two channels are kept; more are mixed down to stereo. Raises AudioDecodeError for
    empty input, an unknown container, a stream FFmpeg cannot decode, or one with no samples.
    """
    if not data:
        raise AudioDecodeError("empty audio")
    fmt = sniff(data)
    if fmt is None:
        raise AudioDecodeError(f"unknown container (first bytes {data[:8].hex()})")
    try:
        with av.open(
            io.BytesIO(data), mode="r", format=_DEMUXER[fmt], options=_OPEN_OPTIONS.get(fmt)
        ) as container:
            if not container.streams.audio:
                raise AudioDecodeError(f"{fmt} container holds no audio stream")
            frames = [f for f in container.decode(container.streams.audio[0]) if f.samples]
            if not frames:
                raise AudioDecodeError(f"{fmt} stream decoded to zero samples")
            pcm, rate, channels = _to_s16(frames)
    except AudioDecodeError:
        raise
    except (av.FFmpegError, OSError, ValueError, EOFError, IndexError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise AudioDecodeError(f"{fmt} decode failed: {reason}") from exc
    if not pcm:
        raise AudioDecodeError(f"{fmt} stream decoded to zero samples")
    return AudioSegment(data=pcm, sample_width=_SAMPLE_WIDTH, frame_rate=rate, channels=channels)


def _frames_of(segment: AudioSegment) -> Iterator[av.AudioFrame]:
    """The segment's PCM as s16 frames at its own rate, in chunks of about 100 ms."""
    seg = segment.set_sample_width(_SAMPLE_WIDTH)
    if seg.channels > 2:  # pydub mixes many channels down to one, not to two
        seg = seg.set_channels(1)
    layout = "mono" if seg.channels == 1 else "stereo"
    raw: bytes = seg.raw_data
    bytes_per_sample = _SAMPLE_WIDTH * seg.channels
    step = max(seg.frame_rate // 10, 1) * bytes_per_sample
    for start in range(0, len(raw), step):
        piece = raw[start : start + step]
        frame = av.AudioFrame(format="s16", layout=layout, samples=len(piece) // bytes_per_sample)
        frame.planes[0].update(piece)
        frame.sample_rate = seg.frame_rate
        yield frame


def encode(segment: AudioSegment, fmt: str) -> bytes:
    """Encode a segment as `fmt` (one of FORMATS) in-process with PyAV.

    mp3 is libmp3lame at 64 kbit/s per channel; ogg and webm are libopus at 32 kbit/s per
    channel, resampled to 48 kHz; wav is PCM16; flac is lossless. Raises ValueError for a format
    outside FORMATS.
    """
    if fmt not in _CONTAINER:
        raise ValueError(f"unknown audio format {fmt!r}; expected one of {', '.join(FORMATS)}")
    channels = segment.channels if segment.channels <= 2 else 1  # as _frames_of mixes them
    layout = "mono" if channels == 1 else "stereo"
    codec, rate, bit_rate = {
        "mp3": (
            "libmp3lame",
            segment.frame_rate if segment.frame_rate in _MP3_RATES else 48_000,
            _MP3_BITRATE_PER_CHANNEL * channels,
        ),
        "wav": ("pcm_s16le", segment.frame_rate, 0),
        "ogg": ("libopus", _OPUS_RATE, _OPUS_BITRATE_PER_CHANNEL * channels),
        "webm": ("libopus", _OPUS_RATE, _OPUS_BITRATE_PER_CHANNEL * channels),
        "flac": ("flac", segment.frame_rate, 0),
    }[fmt]
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=_CONTAINER[fmt]) as container:
        # Bit-exact: no random stream serials or track UIDs, so the same PCM gives the same bytes.
        container.flags |= _AVFMT_FLAG_BITEXACT
        stream = container.add_stream(codec, rate=rate, layout=layout)
        if not isinstance(stream, AudioStream):  # narrows the type; add_stream(str) is a union
            raise TypeError(f"{codec} did not make an audio stream")
        if bit_rate:
            stream.bit_rate = bit_rate
        if codec == "pcm_s16le" or codec == "flac":
            stream.format = "s16"
        # Resample to the stream's rate here: the encoder's implicit resampler keeps the input
        # rate, which libopus (48 kHz here) and libmp3lame (fixed rate set) would refuse.
        resampler = av.AudioResampler(format=stream.format.name, layout=layout, rate=rate)
        for frame in _frames_of(segment):
            for out in resampler.resample(frame):
                container.mux(stream.encode(out))
        for out in resampler.resample(None):
            container.mux(stream.encode(out))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def tone(
    frequency: float, duration_ms: float, *, sample_rate: int, volume_db: float
) -> AudioSegment:
    """A mono sine tone, faded in and out over 8 ms so that joined tones do not click."""
    sine = Sine(frequency, sample_rate=sample_rate).to_audio_segment(
        duration=duration_ms, volume=volume_db
    )
    return sine.set_channels(1).fade_in(8).fade_out(8)


def duration_ms(segment: AudioSegment) -> int:
    """The segment's duration in whole milliseconds."""
    return len(segment)


def envelope(segment: AudioSegment, frame_ms: int = 20) -> list[float]:
    """The loudness envelope: RMS per `frame_ms` of 16 kHz mono s16, normalised to max 1.0.

    Silence gives all zeros; a segment shorter than one frame gives an empty list.
    """
    if frame_ms <= 0:
        raise ValueError(f"frame_ms must be positive, not {frame_ms}")
    mono = segment.set_sample_width(_SAMPLE_WIDTH).set_channels(1).set_frame_rate(_ENVELOPE_RATE)
    raw: bytes = mono.raw_data
    step = _ENVELOPE_RATE * frame_ms // 1000 * _SAMPLE_WIDTH
    rms = [
        float(audioop.rms(raw[start : start + step], _SAMPLE_WIDTH))
        for start in range(0, len(raw) - step + 1, step)
    ]
    peak = max(rms, default=0.0)
    return [value / peak for value in rms] if peak > 0 else rms


def similarity(a: Sequence[float], b: Sequence[float], max_lag: int = 10) -> float:
    """The best Pearson correlation of two envelopes over lags -max_lag..max_lag frames.

    Both are zero-padded (silence) to the longer length, and the lagged one is shifted with zero
    fill, so the whole of each envelope counts. Envelopes whose lengths differ by more than 15%,
    an empty one, or a constant one (silence, a steady tone) score 0.0. The result lies in
    [-1, 1].
    """
    n = max(len(a), len(b))
    if not a or not b or abs(len(a) - len(b)) > _DURATION_TOLERANCE * n:
        return 0.0
    padded_b = [*b, *([0.0] * (n - len(b)))]
    mean_a = math.fsum(a) / n
    centred_a = [x - mean_a for x in a] + [-mean_a] * (n - len(a))
    var_a = math.fsum(x * x for x in centred_a)
    if var_a <= _FLAT * n:
        return 0.0
    best: float | None = None
    reach = min(max(max_lag, 0), n - 1)
    for lag in range(-reach, reach + 1):
        # b shifted right by `lag` frames with zero fill; since centred_a sums to zero, the
        # covariance needs no centring of b.
        kept = padded_b[: n - lag] if lag >= 0 else padded_b[-lag:]
        total = math.fsum(kept)
        var_b = math.fsum(y * y for y in kept) - total * total / n
        if var_b <= _FLAT * n:
            continue
        window = centred_a[lag:] if lag >= 0 else centred_a[: n + lag]
        covariance = math.fsum(map(operator.mul, window, kept))
        r = covariance / math.sqrt(var_a * var_b)
        best = r if best is None else max(best, r)
    return 0.0 if best is None else max(-1.0, min(1.0, best))
