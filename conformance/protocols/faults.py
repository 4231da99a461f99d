"""Defects of a reference server, injected on demand (`conformance serve --fault NAME`).

A fault breaks one clause and must be caught: the cases it names (`caught_by`) turn FAILED
against it (the kill matrix of the selftests), or they are checks that cannot fail. It is the dual
of a variant (`protocols/variants.py`). Each protocol registers its own in `reference/faults.py`;
the server reads each at the one place it acts (`faults.active(FAULT)`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["ActiveFaults", "FaultRegistry", "ServerFault"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerFault:
    name: str
    summary: str  # what the server does wrong
    clause: str  # the clause it breaks, in the documents' words
    source: str  # where that clause is written
    # the case ids or globs that must turn FAILED against it (NON-STRICT where the fault is a
    # lenient acceptance or breaks a SHOULD)
    caught_by: tuple[str, ...]
    under_load: bool = False  # only concurrency shows it: `caught_by` is load mode's


class FaultRegistry(Mapping[str, ServerFault]):
    """A protocol's faults by name; a duplicate name, or a fault no case catches, is refused at
    import time."""

    def __init__(self) -> None:
        self._faults: dict[str, ServerFault] = {}

    def add(
        self,
        name: str,
        summary: str,
        *,
        clause: str,
        source: str,
        caught_by: Sequence[str],
        under_load: bool = False,
    ) -> ServerFault:
        if name in self._faults:
            raise ValueError(f"fault {name!r} registered twice")
        if not caught_by:
            raise ValueError(f"fault {name!r} names no case that catches it (caught_by)")
        fault = ServerFault(
            name=name,
            summary=summary,
            clause=clause,
            source=source,
            caught_by=tuple(caught_by),
            under_load=under_load,
        )
        self._faults[name] = fault
        return fault

    def kill_matrix(self, *, under_load: bool = False) -> dict[str, tuple[str, ...]]:
        """Fault -> the cases that must catch it: a run's (the plug-in's kill matrix), or with
        `under_load` load mode's (its load script's)."""
        return {f.name: f.caught_by for f in self._faults.values() if f.under_load == under_load}

    def __getitem__(self, name: str) -> ServerFault:
        return self._faults[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._faults)

    def __len__(self) -> int:
        return len(self._faults)


class ActiveFaults:
    """The faults one server runs with; KeyError naming the known ones for an unknown one."""

    def __init__(self, registry: Mapping[str, ServerFault], names: Iterable[str] = ()) -> None:
        wanted = set(names)
        unknown = sorted(wanted - set(registry))
        if unknown:
            known = ", ".join(sorted(registry)) or "none"
            raise KeyError(f"unknown fault(s) {', '.join(unknown)}; known: {known}")
        self.faults = tuple(f for name, f in registry.items() if name in wanted)

    def active(self, fault: ServerFault) -> bool:
        return fault in self.faults

    def __bool__(self) -> bool:
        return bool(self.faults)
