"""The live display of a local load run, on stderr.

On a terminal one line is redrawn every second; elsewhere (a CI log) a line is written every
10 s, so that the log stays readable. The last line is always written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TextIO

from conformance.load.stats import Progress

__all__ = ["Display", "render"]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def render(p: Progress) -> str:
    return (
        f"{p.elapsed_s:6.1f} s  sessions {p.sessions:>4}  turns {p.turns:>6} "
        f"({p.turns_per_s:5.1f}/s)  failed {p.failures}  errors {p.errors}  "
        f"first audio p50 {_ms(p.first_audio_p50)} p95 {_ms(p.first_audio_p95)}"
    )


class Display:
    def __init__(self, stream: TextIO, snapshot: Callable[[], Progress]) -> None:
        self.stream = stream
        self.snapshot = snapshot
        self.tty = stream.isatty()

    async def run(self) -> None:
        """Draw until cancelled."""
        tick = 0
        while True:
            await asyncio.sleep(1.0)
            tick += 1
            if self.tty:
                self.stream.write("\r\x1b[2K" + render(self.snapshot()))
                self.stream.flush()
            elif tick % 10 == 0:
                self.stream.write(render(self.snapshot()) + "\n")
                self.stream.flush()

    def final(self) -> None:
        self.stream.write(("\r\x1b[2K" if self.tty else "") + render(self.snapshot()) + "\n")
        self.stream.flush()
