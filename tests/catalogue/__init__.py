"""The committed catalogue listings (`conformance list --protocol NAME` as it was when each
case was last added or changed on purpose): a refactoring that renames, drops, reorders or
rewords a case shows as a difference from these files, and every embedded run must list the
same ids in the same order."""

from __future__ import annotations

from pathlib import Path

__all__ = ["listed_ids", "listing"]

HERE = Path(__file__).parent


def listing(protocol: str) -> str:
    """The committed `conformance list` output of a protocol."""
    return (HERE / f"{protocol}.txt").read_text(encoding="utf-8")


def listed_ids(protocol: str) -> list[str]:
    """The case ids of the committed listing, in its order."""
    return [line.split(" ", 1)[0] for line in listing(protocol).splitlines() if line.strip()]
