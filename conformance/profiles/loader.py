"""Load a target profile (YAML), validate it, and fill in the protocol's defaults.

The schema is the shared `profile.schema.json` with the protocol's own keys merged in; the
built-in profile of the protocol gives every default, and a user's profile overrides it key
by key (mappings merge, everything else replaces). A bad profile raises `ProfileError` whose
message names the file, the field's path and what is allowed.

The loader never asks the protocols registry (that would close an import circle through the
engine): the caller reads the profile's protocol name (`profile_protocol`), picks the plug-in,
and hands its profile, schema and embedded values in as a `ProtocolProfile`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from conformance.profiles.timeouts import Timeouts

__all__ = [
    "DEFAULT_PROTOCOL",
    "Profile",
    "ProfileError",
    "ProtocolProfile",
    "load_profile",
    "merge",
    "profile_protocol",
]

# The protocol of a run that names none (no profile file, no --protocol).
DEFAULT_PROTOCOL = "metahuman"


class ProfileError(ValueError):
    """A profile that cannot be used; the message says where and how to fix it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """A validated profile; `data` holds every key, defaults filled in; `timeouts` the seven
    timeouts, typed (`profile.timeouts.turn`), read from `data` once."""

    protocol: str
    source: str  # the file, or "built-in:<protocol>"
    data: Mapping[str, Any]
    timeouts: Timeouts = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "timeouts", Timeouts.of(self.data["timeouts"]))

    @property
    def url(self) -> str | None:
        url = self.data.get("url")
        return str(url) if url else None

    def section(self, name: str) -> Mapping[str, Any]:
        value = self.data.get(name, {})
        return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtocolProfile:
    """What the loader needs of a protocol plug-in, handed in by the caller."""

    name: str
    builtin: Mapping[str, Any]  # profile.yaml: every default, pinning nothing left open
    schema: Mapping[str, Any]  # profile.schema.json: the protocol's own top-level keys
    embedded: Mapping[str, Any]  # embedded.yaml: the reference's readings, for embedded runs


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` over `base`: mappings merge recursively, anything else replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@cache
def _common_schema() -> dict[str, Any]:
    text = resources.files("conformance.profiles").joinpath("profile.schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def schema_for(protocol_schema: Mapping[str, Any]) -> dict[str, Any]:
    """The shared schema with a protocol's own top-level keys merged in."""
    schema = copy.deepcopy(_common_schema())
    schema["properties"].update(copy.deepcopy(dict(protocol_schema.get("properties", {}))))
    schema.setdefault("$defs", {}).update(copy.deepcopy(dict(protocol_schema.get("$defs", {}))))
    return schema


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the profile: {exc.strerror or exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or exc
        raise ProfileError(f"{path}: not valid YAML{where}: {problem}") from None


def _pointer(path: Any) -> str:
    return "/" + "/".join(str(p) for p in path) if path else "/"


def _explain(error: jsonschema.ValidationError) -> str:
    """One error in words a user can act on: what is wrong and what is allowed."""
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    hint = ""
    if error.validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        hint = f"; allowed keys: {', '.join(allowed)}"
    elif error.validator == "enum":
        hint = ""  # the message already lists the allowed values
    elif schema.get("description"):
        hint = f" ({schema['description']})"
    return f"{error.message}{hint}"


def validate(data: Any, schema: Mapping[str, Any], source: str) -> None:
    """Raise ProfileError for the first (deepest-path first) violation of the schema."""
    if not isinstance(data, Mapping):
        raise ProfileError(f"{source}: a profile is a mapping of keys, not {type(data).__name__}")
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: (-len(e.absolute_path), e.message))
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ProfileError(f"{source}: {_pointer(first.absolute_path)}: {_explain(first)}{more}")


def _raw(path: Path | None, protocol: str | None) -> tuple[Mapping[str, Any], str]:
    """The profile as written and where it comes from (its file, or "built-in:<protocol>")."""
    raw: Any = {"protocol": protocol or DEFAULT_PROTOCOL} if path is None else _read(path)
    source = f"built-in:{raw.get('protocol')}" if path is None else str(path)
    if not isinstance(raw, Mapping):
        raise ProfileError(f"{source}: a profile is a mapping of keys, not {type(raw).__name__}")
    return raw, source


def profile_protocol(
    path: Path | None, *, protocol: str | None = None, known: Collection[str]
) -> str:
    """The protocol a profile is for: its `protocol` key, or `protocol` (from `--protocol`,
    else the default) when there is no file. ProfileError when the file names none, one not in
    `known`, or another than `protocol`."""
    raw, source = _raw(path, protocol)
    name = raw.get("protocol")
    if not isinstance(name, str):
        raise ProfileError(f"{source}: /protocol: required, one of {', '.join(sorted(known))}")
    if protocol is not None and name != protocol:
        raise ProfileError(f"{source}: /protocol: the profile is for {name!r}, not {protocol!r}")
    if name not in known:
        raise ProfileError(
            f"{source}: /protocol: unknown protocol {name!r}; known: {', '.join(sorted(known))}"
        )
    return name


def profile_url(path: Path | None) -> str | None:
    """The server a profile file names (its `url`), or None; the file's own errors wait for
    `load_profile`, which reads it whole."""
    if path is None:
        return None
    raw, _ = _raw(path, None)
    url = raw.get("url")
    return url if isinstance(url, str) and url else None


def load_profile(path: Path | None, given: ProtocolProfile, *, embedded: bool = False) -> Profile:
    """The profile at `path` over the built-in profile of `given`, or the built-in alone.

    `given` is the plug-in of the profile's protocol (`profile_protocol` names it); a file for
    another protocol is refused. `embedded`: the target is the embedded reference server, so its
    own readings of open points (the plug-in's embedded profile) sit between the built-in
    profile and the file.
    """
    raw, source = _raw(path, given.name)
    if raw.get("protocol") != given.name:
        raise ProfileError(
            f"{source}: /protocol: the profile is for {raw.get('protocol')!r}, not {given.name!r}"
        )
    schema = schema_for(given.schema)
    validate(raw, schema | {"required": ["protocol"]}, source)
    base = merge(given.builtin, given.embedded) if embedded else given.builtin
    data = merge(base, raw)
    validate(data, schema, source)
    missing = [n for n in Timeouts.names() if n not in data.get("timeouts", {})]
    if missing:
        raise ProfileError(f"{source}: /timeouts: no value for {', '.join(missing)}")
    return Profile(protocol=given.name, source=source, data=data)
