"""Synthetic signals for the unit tests: a sine tone and white noise, 16-bit mono."""

from __future__ import annotations

import math
import random
from array import array

from conformance.audio import AudioSegment


def tone(ms: int, hz: float = 440.0, rate: int = 16_000) -> AudioSegment:
    samples = array(
        "h", (int(12_000 * math.sin(2 * math.pi * hz * i / rate)) for i in range(rate * ms // 1000))
    )
    return AudioSegment(data=samples.tobytes(), sample_width=2, frame_rate=rate, channels=1)


def white_noise(ms: int, seed: int, rate: int = 16_000) -> AudioSegment:
    rng = random.Random(seed)
    samples = array("h", (rng.randint(-8_000, 8_000) for _ in range(rate * ms // 1000)))
    return AudioSegment(data=samples.tobytes(), sample_width=2, frame_rate=rate, channels=1)
