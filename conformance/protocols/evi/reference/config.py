"""Client messages, session settings and configs: validated (conformance.schemas), then typed.

A client message is checked against its schema (schemas/evi/messages/); what the schema cannot
say (a tool whose `parameters` is not JSON, a `verbose_transcription` that is not a boolean)
is checked here. Session settings come as a message or as `session_settings[...]` query
parameters in bracket notation, with the same meaning.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, Final

from conformance import schemas
from conformance.protocols.evi.events import Client
from conformance.protocols.evi.reference.errors import (
    INVALID_CONFIG,
    INVALID_JSON,
    INVALID_MESSAGE,
    INVALID_SESSION_SETTINGS,
    UNKNOWN_MESSAGE_TYPE,
    EviError,
)

__all__ = [
    "ACCESS_TOKEN",
    "API_KEY",
    "AudioFormat",
    "Config",
    "Settings",
    "Timeouts",
    "ToolSpec",
    "message",
    "parse_config",
    "query_flag",
    "query_settings",
]

PROTOCOL: Final = "evi"
# The credentials the reference is served with unless told otherwise (embedded.yaml pins them).
API_KEY: Final = "conformance-test-key"
ACCESS_TOKEN: Final = "conformance-test-token"
# The seed's defaults: inactivity 600 s; every chat ends by 1,800 s, enabled or not.
_INACTIVITY_S: Final = 600
_MAX_DURATION_S: Final = 1800
_QUERY_KEY: Final = re.compile(r"session_settings((?:\[[^\[\]]+\])+)")


@dataclass(frozen=True, slots=True, kw_only=True)
class AudioFormat:
    """session_settings.audio: raw PCM of this format (the seed's only encoding: linear16)."""

    encoding: str
    channels: int
    sample_rate: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolSpec:
    """A user-defined tool of session_settings.tools, its `parameters` parsed."""

    name: str
    parameters: Mapping[str, Any]
    description: str = ""
    fallback_content: str = ""

    def mentioned_in(self, text: str) -> bool:
        """Whether a user message names this tool (`get_weather` or `get weather`)."""
        lowered = text.lower()
        name = self.name.lower()
        return name in lowered or name.replace("_", " ") in lowered


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """The session's settings; a session_settings message changes only the fields it gives."""

    system_prompt: str = ""
    context: str = ""
    audio: AudioFormat | None = None
    tools: tuple[ToolSpec, ...] = ()
    custom_session_id: str | None = None

    def updated(self, payload: Mapping[str, Any]) -> Settings:
        """These settings with a schema-valid session_settings payload applied."""
        changes: dict[str, Any] = {}
        if "system_prompt" in payload:
            changes["system_prompt"] = payload["system_prompt"]
        if "context" in payload:  # null disables context injection (the seed)
            changes["context"] = (payload["context"] or {}).get("text", "")
        if "audio" in payload:
            changes["audio"] = AudioFormat(**payload["audio"])
        if "tools" in payload:
            changes["tools"] = tuple(_tool(n, spec) for n, spec in enumerate(payload["tools"]))
        if "custom_session_id" in payload:
            changes["custom_session_id"] = payload["custom_session_id"]
        return replace(self, **changes)

    def tool_for(self, text: str) -> ToolSpec | None:
        """The first declared tool the text mentions, if any."""
        return next((tool for tool in self.tools if tool.mentioned_in(text)), None)


def _tool(n: int, spec: Mapping[str, Any]) -> ToolSpec:
    try:
        parameters = json.loads(spec["parameters"])
    except ValueError as exc:
        raise EviError(
            INVALID_SESSION_SETTINGS, f"/tools/{n}/parameters is not stringified JSON: {exc}"
        ) from None
    if not isinstance(parameters, dict):
        raise EviError(INVALID_SESSION_SETTINGS, f"/tools/{n}/parameters is not a JSON object")
    return ToolSpec(
        name=spec["name"],
        parameters=parameters,
        description=spec.get("description", ""),
        fallback_content=spec.get("fallback_content", ""),
    )


def message(raw: str) -> tuple[Client, dict[str, Any]]:
    """A client message from a text frame: its type and its schema-valid payload.

    Raises EviError: invalid_json (not JSON), invalid_message (not an object, no `type`, or a
    schema violation, named by its JSON pointer), unknown_message_type, and
    invalid_session_settings for a session_settings message the server cannot apply.
    """
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise EviError(INVALID_JSON, str(exc)) from None
    if not isinstance(payload, dict):
        raise EviError(INVALID_MESSAGE, f"a message is a JSON object, not {type(payload).__name__}")
    kind = payload.get("type")
    if not isinstance(kind, str):
        raise EviError(INVALID_MESSAGE, "/type is required: the message's type, a string")
    try:
        client = Client(kind)
    except ValueError:
        known = ", ".join(sorted(Client))
        raise EviError(UNKNOWN_MESSAGE_TYPE, f"{kind!r}; a client sends one of {known}") from None
    violations = schemas.errors(PROTOCOL, kind, payload)
    if violations:
        bad = INVALID_SESSION_SETTINGS if client is Client.SESSION_SETTINGS else INVALID_MESSAGE
        raise EviError(bad, f"{kind}: " + "; ".join(map(str, violations)))
    return client, payload


# --- the query string ----------------------------------------------------------------------------


def query_flag(query: Mapping[str, str], name: str) -> bool:
    """A boolean query parameter (`true` / `false`, absent: false); invalid_session_settings."""
    value = query.get(name)
    if value is None:
        return False
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise EviError(INVALID_SESSION_SETTINGS, f"{name}={value!r} is neither true nor false")


def query_settings(query: Mapping[str, str]) -> dict[str, Any] | None:
    """The session_settings message that `session_settings[...]` parameters spell, if any.

    `session_settings[audio][sample_rate]=16000` becomes `{"audio": {"sample_rate": 16000}}`:
    values are typed by the schema (integers, numbers, booleans), and the result is validated
    as a session_settings message (invalid_session_settings).
    """
    settings: dict[str, Any] = {}
    for key, value in query.items():
        match = _QUERY_KEY.fullmatch(key)
        if match is None:
            continue
        path = re.findall(r"\[([^\[\]]+)\]", match.group(1))
        node = settings
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise EviError(INVALID_SESSION_SETTINGS, f"{key} conflicts with another parameter")
            node = child
        node[path[-1]] = _typed(value, path)
    if not settings:
        return None
    payload = {"type": str(Client.SESSION_SETTINGS), **settings}
    violations = schemas.errors(PROTOCOL, Client.SESSION_SETTINGS, payload)
    if violations:
        detail = "; ".join(f"session_settings{_brackets(v.path)}: {v.message}" for v in violations)
        raise EviError(INVALID_SESSION_SETTINGS, f"query parameters: {detail}")
    return payload


def _typed(value: str, path: list[str]) -> Any:
    """A query value as the session_settings schema types it at `path` (else the string)."""
    node: Any = _settings_schema()
    for part in path:
        node = node.get("properties", {}).get(part, {}) if isinstance(node, dict) else {}
    kind = node.get("type") if isinstance(node, dict) else None
    if kind == "integer" and re.fullmatch(r"-?\d+", value):
        return int(value)
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


@cache
def _settings_schema() -> dict[str, Any]:
    return schemas.bundled(PROTOCOL, Client.SESSION_SETTINGS, annotations=False)


def _brackets(pointer: str) -> str:
    return "".join(f"[{part}]" for part in pointer.split("/") if part)


# --- configs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeouts:
    """A chat's timeouts in seconds; an inactivity of None is off."""

    inactivity_s: float | None = _INACTIVITY_S
    max_duration_s: float = _MAX_DURATION_S


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """A config created through `POST /v0/evi/configs` (only what timeouts need)."""

    name: str
    specs: Mapping[str, Mapping[str, Any]]  # each timeout's {enabled, duration_secs}
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    version: int = 0

    @property
    def timeouts(self) -> Timeouts:
        inactivity, max_duration = self.specs["inactivity"], self.specs["max_duration"]
        return Timeouts(
            inactivity_s=inactivity["duration_secs"] if inactivity["enabled"] else None,
            # A disabled max duration still ends the chat at 1,800 s: the seed's socket limit.
            max_duration_s=(
                max_duration["duration_secs"] if max_duration["enabled"] else _MAX_DURATION_S
            ),
        )

    def body(self) -> dict[str, Any]:
        """The 201 answer (the seed's ReturnConfig, the subset of config.response)."""
        timeouts = {name: dict(spec) for name, spec in self.specs.items()}
        return {"id": self.id, "version": self.version, "name": self.name, "timeouts": timeouts}


def parse_config(body: Any) -> Config:
    """A config from a `POST /v0/evi/configs` body; EviError(invalid_config) naming the field."""
    violations = schemas.errors(PROTOCOL, "config.request", body)
    if violations:
        raise EviError(INVALID_CONFIG, "; ".join(map(str, violations)))
    posted = body.get("timeouts", {})
    specs = {
        name: {
            "enabled": posted.get(name, {}).get("enabled", True),
            "duration_secs": posted.get(name, {}).get("duration_secs", default),
        }
        for name, default in (("inactivity", _INACTIVITY_S), ("max_duration", _MAX_DURATION_S))
    }
    return Config(name=body["name"], specs=specs)
