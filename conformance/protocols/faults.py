"""Defects of a reference server, injected on demand (`conformance serve --fault NAME`).

A fault breaks one clause and must be caught: some case of the catalogue turns FAILED against
it (the kill matrix of the selftests), or that case is a check that cannot fail. It is the dual
of a variant (`protocols/variants.py`). Each protocol registers its own in `reference/faults.py`;
the server reads each at the one place it acts (`faults.active(FAULT)`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

__all__ = ["ActiveFaults", "FaultRegistry", "ServerFault"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerFault:
    name: str
    summary: str  # what the server does wrong
    clause: str  # the clause it breaks, in the documents' words
    source: str  # where that clause is written


class FaultRegistry(Mapping[str, ServerFault]):
    """A protocol's faults by name; a duplicate name is refused at import time."""

    def __init__(self) -> None:
        self._faults: dict[str, ServerFault] = {}

    def add(self, name: str, summary: str, *, clause: str, source: str) -> ServerFault:
        if name in self._faults:
            raise ValueError(f"fault {name!r} registered twice")
        fault = ServerFault(name=name, summary=summary, clause=clause, source=source)
        self._faults[name] = fault
        return fault

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
