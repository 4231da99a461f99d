"""The reference Chat Mode server's offline, deterministic providers: speech is recognised from
the fixture clips, the avatar's answer quotes what it heard, and the answer is synthesised with
the offline voice every reference shares (`conformance/protocols/providers.py`).
"""

from __future__ import annotations

import io
from typing import Final

import av

from conformance import audio
from conformance.protocols.chatmode.reference.config import Avatar
from conformance.protocols.chatmode.reference.errors import Invalid
from conformance.protocols.providers import recognised, spoken

__all__ = ["answer", "synthesise", "transcribe"]

_RATE: Final = 16_000


def _opus_input_rate(data: bytes) -> int | None:
    """The OpusHead "input sample rate" (RFC 7845 §5.1) of a WebM/Opus stream, if it has one."""
    try:
        with av.open(io.BytesIO(data), format="matroska") as container:
            context = container.streams.audio[0].codec_context
            extradata = context.extradata if context.name == "opus" else None
    except (av.FFmpegError, IndexError, OSError, ValueError):
        return None
    if not extradata or len(extradata) < 16 or not extradata.startswith(b"OpusHead"):
        return None
    return int.from_bytes(extradata[12:16], "little")


def transcribe(data: bytes, *, any_wav_rate: bool) -> str:
    """The text of a voice message's audio (WAV or WebM, 16 kHz, mono), or Invalid."""
    fmt = audio.sniff(data)
    if fmt not in ("wav", "webm"):
        found = fmt or "not audio in a known container"
        raise Invalid(f"`file_base64_data` must be WAV or WebM audio, not {found}")
    try:
        segment = audio.decode(data)
    except audio.AudioDecodeError as exc:
        raise Invalid(f"`file_base64_data` does not decode: {exc}") from None
    if segment.channels != 1:
        raise Invalid(f"`file_base64_data` must be mono, not {segment.channels} channels")
    rate: int | None = segment.frame_rate
    if fmt == "webm":
        input_rate = _opus_input_rate(data)
        if input_rate is not None:
            # Opus always decodes at 48 kHz; what the sender captured is OpusHead's input rate.
            # 0 means "unspecified", and browsers write 48000 whatever they captured (Chrome's
            # MediaRecorder does, although the official client asks getUserMedia for 16 kHz),
            # so only another declared rate (an 8 kHz recording, say) is held against it.
            rate = None if input_rate in (0, _RATE, 48_000) else input_rate
    elif any_wav_rate:
        rate = None
    if rate is not None and rate != _RATE:
        raise Invalid(f"`file_base64_data` must be sampled at 16 kHz, not {rate} Hz")
    return recognised(segment)


def answer(avatar: Avatar, heard: str) -> str:
    """The avatar's deterministic answer; it quotes what it heard, so it grows with it."""
    return f"{avatar.name} here. You said: {heard.rstrip('.!?')}. Thank you for your message."


def synthesise(text: str, *, wav: bool = False) -> bytes:
    return spoken(text, "wav" if wav else "mp3")
