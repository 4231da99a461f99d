"""Judging helpers every protocol's cases share: a payload as a verdict shows it, and a
payload against its message's JSON Schema (`schemas/<protocol>/messages/`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance import schemas
from conformance.engine.context import CaseContext
from conformance.engine.model import Level
from conformance.engine.transcript import summarize

__all__ = ["Validator", "shown"]


def shown(value: Any) -> str:
    """A payload as it appears in a verdict: bytes and long strings by length and hash."""
    return repr(summarize(value))


@dataclass(frozen=True, slots=True)
class Validator:
    """A protocol's schema check, called as `valid(ctx, message, payload)`: FAILED (at `level`,
    or the case's own) with the schema path when the payload violates its message's schema."""

    protocol: str

    def __call__(
        self, ctx: CaseContext, message: str, payload: Any, level: Level | None = None
    ) -> None:
        violations = schemas.errors(self.protocol, message, payload)
        if violations:
            first = violations[0]
            ctx.fail(
                f"{message} payload violates its schema at {first.path or '/'}: {first.message}",
                expected=f"a payload valid against "
                f"schemas/{self.protocol}/messages/{message}.schema.json",
                observed=shown(payload),
                level=level,
            )
