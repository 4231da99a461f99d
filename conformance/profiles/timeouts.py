"""The profile's seven timeouts, typed: each a float of seconds that knows its profile key.

A `Timeout` is a float wherever a float is used (asyncio deadlines, arithmetic: whose results
are plain floats) and names itself in messages: `t.key` is its key in the profile
("timeouts.turn") and `t.cited` the wording every message uses ("20 s (timeouts.turn)").
`Timeouts` holds the seven, built once when the profile loads (`profile.timeouts.turn`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["Timeout", "Timeouts"]


class Timeout(float):
    """Seconds to wait, read from the profile's `timeouts.<name>`."""

    __slots__ = ("name",)
    name: str  # the key under `timeouts` ("turn")

    def __new__(cls, seconds: float, name: str) -> Timeout:
        self = super().__new__(cls, seconds)
        self.name = name
        return self

    def __getnewargs__(self) -> tuple[float, str]:  # type: ignore[override]
        return (float(self), self.name)

    @property
    def key(self) -> str:
        """Its key in the profile: "timeouts.turn"."""
        return f"timeouts.{self.name}"

    @property
    def cited(self) -> str:
        """The seconds and where they come from, as messages cite them: "20 s (timeouts.turn)"."""
        return f"{self:g} s ({self.key})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeouts:
    """The seven timeouts of a profile (`profile.schema.json`, `timeouts`)."""

    connect: Timeout  # the handshake
    event: Timeout  # a direct answer (an acknowledgement, an error)
    transcription: Timeout  # commit to transcription
    first_audio: Timeout  # commit to the first audio of the answer
    turn: Timeout  # commit to the end of the answer
    silence: Timeout  # how long nothing must arrive to conclude that nothing comes
    stall: Timeout  # a begun stream silent this long is over

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Timeouts:
        """The seven from a profile's `timeouts` mapping (KeyError names one it lacks)."""
        return cls(**{name: Timeout(float(values[name]), name) for name in cls.names()})

    def __iter__(self) -> Iterator[Timeout]:
        return iter(
            (
                self.connect,
                self.event,
                self.transcription,
                self.first_audio,
                self.turn,
                self.silence,
                self.stall,
            )
        )
