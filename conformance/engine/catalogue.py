"""A protocol's case catalogue: cases register with a decorator, most through their area
(`CATALOGUE.area(name, source=...)`, then `@area.case(...)`); a duplicate id, or an area the
catalogue does not list, is refused at import time. A case may come in variants (one per TTS
mode, say), each its own id. The catalogue's areas are its report order (`ordered()`)."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.engine.model import Case, CaseFunction, Level

__all__ = ["Area", "Catalogue", "Variant", "matches"]


def matches(case_id: str, pattern: str) -> bool:
    """A case id against an id or a glob. Ids hold brackets ("MH-DELTA-002[chain-…]"), which
    fnmatch reads as character sets: try exact, the glob as written, and brackets escaped."""
    escaped = pattern.replace("[", "[[]")
    return (
        case_id == pattern
        or fnmatch.fnmatchcase(case_id, pattern)
        or fnmatch.fnmatchcase(case_id, escaped)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Variant:
    label: str
    params: Mapping[str, Any] = field(default_factory=dict)
    requires: Mapping[str, Any] = field(default_factory=dict)


class Catalogue:
    def __init__(self, *, areas: Sequence[str]) -> None:
        self.areas = tuple(areas)  # the order of listings and reports
        self.cases: dict[str, Case] = {}

    def area(self, name: str, *, source: str, requires: Mapping[str, Any] | None = None) -> Area:
        """Declare an area: the usual source of its cases and the capabilities they need."""
        if name not in self.areas:
            raise ValueError(f"area {name!r} is not one of the catalogue's areas {self.areas}")
        return Area(catalogue=self, name=name, source=source, requires=dict(requires or {}))

    def ordered(self) -> list[Case]:
        """The cases in area order, ids sorted within an area."""
        return sorted(self, key=lambda case: (self.areas.index(case.area), case.id))

    def case(
        self,
        id: str,
        *,
        title: str,
        clause: str,
        level: Level,
        area: str,
        source: str,
        requires: Mapping[str, Any] | None = None,
        variants: Iterable[Variant] = (),
    ) -> Callable[[CaseFunction], CaseFunction]:
        if area not in self.areas:
            raise ValueError(f"case {id}: area {area!r} is not one of the catalogue's areas")

        def register(run: CaseFunction) -> CaseFunction:
            for variant in list(variants) or [Variant(label="")]:
                case_id = f"{id}[{variant.label}]" if variant.label else id
                if case_id in self.cases:
                    raise ValueError(f"case {case_id} registered twice")
                self.cases[case_id] = Case(
                    id=case_id,
                    title=title,
                    clause=clause,
                    level=level,
                    area=area,
                    source=source,
                    run=run,
                    params=dict(variant.params),
                    requires={**(requires or {}), **variant.requires},
                )
            return run

        return register

    def __iter__(self) -> Any:
        return iter(self.cases.values())

    def __len__(self) -> int:
        return len(self.cases)


@dataclass(frozen=True, slots=True, kw_only=True)
class Area:
    """The cases of one area of a catalogue (`Catalogue.area`): a case states its own source
    only where it differs from the area's, and needs the area's capabilities and its own."""

    catalogue: Catalogue
    name: str
    source: str
    requires: Mapping[str, Any] = field(default_factory=dict)

    def case(
        self,
        id: str,
        *,
        title: str,
        clause: str,
        level: Level,
        source: str = "",
        requires: Mapping[str, Any] | None = None,
        variants: Iterable[Variant] = (),
    ) -> Callable[[CaseFunction], CaseFunction]:
        return self.catalogue.case(
            id,
            title=title,
            clause=clause,
            level=level,
            area=self.name,
            source=source or self.source,
            requires={**self.requires, **(requires or {})},
            variants=variants,
        )
