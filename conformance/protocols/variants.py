"""Legitimate variants of a reference server: other readings of what the documents leave open.

A fault breaks a clause and must be caught (the kill matrix); a variant reads an [open] point of
PROTOCOLS.md another way and must pass every case (the variant matrix), given the profile a user
of such a server would write. Each protocol registers its own in `reference/variants.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ActiveVariants", "ServerVariant", "VariantRegistry"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerVariant:
    name: str
    summary: str  # what the server does differently
    open_point: str  # the PROTOCOLS.md point it reads another way
    profile: Mapping[str, Any] = field(default_factory=dict)  # what its user's profile says


class VariantRegistry(Mapping[str, ServerVariant]):
    """A protocol's variants by name; a duplicate name is refused at import time."""

    def __init__(self) -> None:
        self._variants: dict[str, ServerVariant] = {}

    def add(
        self,
        name: str,
        summary: str,
        *,
        open_point: str,
        profile: Mapping[str, Any] | None = None,
    ) -> ServerVariant:
        if name in self._variants:
            raise ValueError(f"variant {name!r} registered twice")
        variant = ServerVariant(
            name=name, summary=summary, open_point=open_point, profile=dict(profile or {})
        )
        self._variants[name] = variant
        return variant

    def __getitem__(self, name: str) -> ServerVariant:
        return self._variants[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._variants)

    def __len__(self) -> int:
        return len(self._variants)


class ActiveVariants:
    """The variants one server runs with; KeyError naming the known ones for an unknown one."""

    def __init__(self, registry: VariantRegistry, names: Iterable[str] = ()) -> None:
        wanted = set(names)
        unknown = sorted(wanted - set(registry))
        if unknown:
            known = ", ".join(sorted(registry)) or "none"
            raise KeyError(f"unknown variant(s) {', '.join(unknown)}; known: {known}")
        self.variants = tuple(v for name, v in registry.items() if name in wanted)

    def active(self, variant: ServerVariant) -> bool:
        return variant in self.variants

    def __bool__(self) -> bool:
        return bool(self.variants)
