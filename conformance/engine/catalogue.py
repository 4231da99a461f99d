"""A protocol's case catalogue: cases register with a decorator; a duplicate id is refused
at import time. A case may come in variants (one per TTS mode, say), each its own id."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.engine.model import Case, CaseFunction, Level

__all__ = ["Catalogue", "Variant", "matches"]


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
    def __init__(self) -> None:
        self.cases: dict[str, Case] = {}

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
