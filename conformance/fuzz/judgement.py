"""What one fuzz example showed: a judgement at a level, with its reason, and a bounded tally
of the judgements that break nothing.

The levels read as the case verdicts do (PROTOCOLS.md, the readings for all protocols):
- MUST: what is never allowed (a dropped connection, silence, a malformed answer, a session
  that no longer works, an effect on another session). Only these are findings: hypothesis
  shrinks on them, and the case is FAILED.
- SHOULD: input that breaks a schema, accepted where the server can still serve it (lenient
  parsing). The case is NON-STRICT; nothing is shrunk or saved.
- MAY: an observation, such as a refusal of a valid request with a well-formed error. The case
  passes; the reason is noted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from conformance.engine.model import Level, Verdict

__all__ = ["Judgement", "Tally", "broken", "lenient", "observed", "worst"]

_RANK = {Level.MUST: 0, Level.SHOULD: 1, Level.MAY: 2}


@dataclass(frozen=True, slots=True)
class Judgement:
    """The judged outcome of one example that did not simply pass."""

    level: Level
    reason: str

    @property
    def breaks(self) -> bool:
        """A MUST-level break: a finding, shrunk and saved."""
        return self.level is Level.MUST


def broken(reason: str) -> Judgement:
    """What is never allowed: FAILED."""
    return Judgement(Level.MUST, reason)


def lenient(reason: str) -> Judgement:
    """Bad input the server accepted or let pass: at most NON-STRICT."""
    return Judgement(Level.SHOULD, reason)


def observed(reason: str) -> Judgement:
    """Worth a note, breaks nothing (a refusal of a valid request with a well-formed error)."""
    return Judgement(Level.MAY, reason)


def worst(*judgements: Judgement | None) -> Judgement | None:
    """The most severe of some judgements (the first of equals); None if all passed."""
    found = [j for j in judgements if j is not None]
    return min(found, key=lambda j: _RANK[j.level]) if found else None


@dataclass(slots=True)
class Tally:
    """The judgements below MUST of a fuzz run: counts per level, and the first few distinct
    reasons of each (bounded, so thousands of examples cost a few lines)."""

    keep: int = 5
    counts: Counter[Level] = field(default_factory=Counter)
    reasons: dict[Level, list[str]] = field(default_factory=dict)

    def add(self, judgement: Judgement) -> None:
        if judgement.breaks:
            return  # a break is a finding, not a tally line
        self.counts[judgement.level] += 1
        kept = self.reasons.setdefault(judgement.level, [])
        if len(kept) < self.keep and judgement.reason not in kept:
            kept.append(judgement.reason)

    def count(self, level: Level) -> int:
        return self.counts[level]

    def brief(self, level: Level) -> str:
        """'N example(s): reason; reason; …' for one level, or '' when there were none."""
        n = self.counts[level]
        if not n:
            return ""
        kept = self.reasons.get(level, [])
        more = " …" if n > len(kept) else ""
        return f"{n} example(s): " + "; ".join(kept) + more

    def lines(self) -> list[str]:
        """A note per level that occurred, most severe first."""
        words = {
            Level.SHOULD: f"{Verdict.NON_STRICT.value} (SHOULD), lenient",
            Level.MAY: "noted (MAY), no violation",
        }
        return [
            f"{words[level]}: {self.brief(level)}"
            for level in (Level.SHOULD, Level.MAY)
            if self.counts[level]
        ]
