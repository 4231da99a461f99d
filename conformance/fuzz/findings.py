"""A finding: the minimal sequence of events that breaks an oracle, saved as replayable JSON."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FORMAT", "Finding", "Step", "load_finding", "save_finding"]

FORMAT = "conformance-finding"


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One event a fuzzer sends: on which socket, which event, with which arguments."""

    event: str
    args: tuple[Any, ...] = ()
    socket: str = "sender"
    label: str = ""  # what the step is, in words ("session.update without STT")
    expect: str = "error"  # "error": only an error event is right; "any": an ack or an error

    def to_json(self) -> dict[str, Any]:
        return {
            "socket": self.socket,
            "event": self.event,
            "args": [_encode(a) for a in self.args],
            "label": self.label,
            "expect": self.expect,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        return cls(
            socket=str(data.get("socket", "sender")),
            event=str(data["event"]),
            args=tuple(_decode(a) for a in data.get("args", [])),
            label=str(data.get("label", "")),
            expect=str(data.get("expect", "error")),
        )


def _encode(value: Any) -> Any:
    """JSON for a value; bytes (binary attachments) as {"$bytes": base64}."""
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return base64.b64decode(value["$bytes"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """What broke, the minimal steps that break it, and how they were found."""

    protocol: str
    target: str  # the fuzz case id
    oracle: str  # the clause the server broke
    message: str
    steps: tuple[Step, ...]
    seed: int
    url: str = ""
    rules: tuple[dict[str, Any], ...] = field(default_factory=tuple)  # stateful: rule steps

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": 1,
            "protocol": self.protocol,
            "target": self.target,
            "oracle": self.oracle,
            "message": self.message,
            "seed": self.seed,
            "url": self.url,
            "steps": [s.to_json() for s in self.steps],
            "rules": [_encode(r) for r in self.rules],
        }


def save_finding(finding: Finding, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{finding.target}.json"
    path.write_text(json.dumps(finding.to_json(), indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def load_finding(path: Path) -> Finding:
    """A saved finding; ValueError naming what is wrong with the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable finding: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path}: not a finding file (format is not {FORMAT!r})")
    return Finding(
        protocol=str(data["protocol"]),
        target=str(data["target"]),
        oracle=str(data.get("oracle", "")),
        message=str(data.get("message", "")),
        steps=tuple(Step.from_json(s) for s in data.get("steps", [])),
        seed=int(data.get("seed", 0)),
        url=str(data.get("url", "")),
        rules=tuple(_decode(r) for r in data.get("rules", [])),
    )
