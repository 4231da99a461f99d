"""The protocols the suite knows: each a plug-in with its schemas, cases, reference server,
faults and built-in profile. Nothing outside a protocol's folder knows its event names."""

from __future__ import annotations

import importlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol

import yaml
from aiohttp import web

from conformance.engine.model import Case
from conformance.profiles import ProtocolProfile

if TYPE_CHECKING:
    from conformance.engine.context import Env
    from conformance.fuzz.findings import Finding
    from conformance.protocols.load import LoadScript

__all__ = [
    "FaultInfo",
    "ProtocolPlugin",
    "ServeOption",
    "VariantInfo",
    "conventional",
    "names",
    "packaged",
    "plugin",
    "profile_of",
    "with_defaults",
]

# name -> module defining PLUGIN; imported on first use.
_REGISTRY = {
    "chatmode": "conformance.protocols.chatmode.plugin",
    "evi": "conformance.protocols.evi.plugin",
    "metahuman": "conformance.protocols.metahuman.plugin",
}


class FaultInfo(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def clause(self) -> str: ...
    @property
    def source(self) -> str: ...


class VariantInfo(Protocol):
    """A legitimate other reading of an open point, served on demand (`serve --variant`).

    The dual of a fault: every case must pass against it, given `profile`, the profile a user
    of such a server would write (empty when the built-in profile for a URL already fits).
    """

    @property
    def name(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def open_point(self) -> str: ...
    @property
    def profile(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeOption:
    """A flag of `conformance serve` that a plug-in's reference reads from its options:
    `--tts-format wav` is `options["tts_format"] == "wav"` in its reference_app.

    The command offers a flag only to the protocols declaring it, and passes it only when the
    user typed it; the plug-in applies `default` (`with_defaults`), None leaving the choice to
    its reference.
    """

    flag: str
    help: str  # what it sets; the command adds the protocol and the default
    default: str | None = None
    choices: tuple[str, ...] = ()

    @property
    def dest(self) -> str:
        """The key of the reference's options (argparse's own reading of the flag)."""
        return self.flag.removeprefix("--").replace("-", "_")


def with_defaults(declared: Sequence[ServeOption], options: Mapping[str, Any]) -> dict[str, Any]:
    """`options` over the declared defaults: what a reference_app reads."""
    defaults = {option.dest: option.default for option in declared if option.default is not None}
    return {**defaults, **options}


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtocolPlugin:
    name: str
    title: str
    package: str  # the plug-in's package, holding its profile.yaml (the collection's anchor)
    builtin_profile: Callable[[], Mapping[str, Any]]
    profile_schema: Callable[[], Mapping[str, Any]]
    catalogue: Callable[[], Sequence[Case]]
    faults: Callable[[], Mapping[str, FaultInfo]]
    # (faults, serve options) -> the reference server's aiohttp application (KeyError on an
    # unknown fault or variant); options["variants"] lists the variants to serve; a protocol
    # ignores the options it has no use for
    reference_app: Callable[[Sequence[str], Mapping[str, Any]], web.Application]
    # the options of reference_app a user sets on the command line (`conformance serve`)
    serve_options: Sequence[ServeOption] = ()
    # the legitimate other readings the reference can serve (the variant matrix of the selftest)
    variants: Callable[[], Mapping[str, VariantInfo]]
    # profile values pinned only when the embedded reference is the target (its own errorIds,
    # its audio format, a token it signed): a run against a URL never assumes them
    embedded_profile: Callable[[], Mapping[str, Any]]
    # which cases each fault must make FAILED (the kill matrix of the selftest; a fault's
    # `caught_by`)
    kill_matrix: Callable[[], Mapping[str, Sequence[str]]]
    # what `conformance fuzz` runs, and how a saved finding is replayed (None: fixed)
    fuzz_catalogue: Callable[[], Sequence[Case]]
    replay: Callable[[Finding, Env], Awaitable[str | None]]
    # what `conformance load` and the Locust users play: the scripted session and turn, judged
    # by the catalogue's own per-turn cases (conformance/protocols/load.py)
    load_script: Callable[[], LoadScript]
    # before a run against a URL: why the profile cannot reach the server (credentials it
    # lacks or the server refuses: the profile key to set), or None; never a verdict
    preflight: Callable[[Env], Awaitable[str | None]]


@cache
def packaged(package: str, name: str) -> Mapping[str, Any]:
    """A YAML or JSON file of a plug-in's package (its profile, its schema, embedded values)."""
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    loaded: Mapping[str, Any] = json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
    return loaded


def conventional(
    package: str,
    *,
    name: str,
    title: str,
    reference_app: Callable[[Sequence[str], Mapping[str, Any]], web.Application],
    serve_options: Sequence[ServeOption] = (),
) -> ProtocolPlugin:
    """The plug-in of a package laid out as ARCHITECTURE.md's recipe ("Adding a protocol"): each
    entry is read from its file on first use, so importing a plug-in imports none of its cases,
    reference server or fuzzers."""

    def entry(module: str, attribute: str) -> Any:
        return getattr(importlib.import_module(f"{package}.{module}"), attribute)

    async def replay(finding: Finding, env: Env) -> str | None:
        replayed: str | None = await entry("fuzzcases", "replay")(finding, env)
        return replayed

    async def preflight(env: Env) -> str | None:
        # optional: a protocol without credentials has nothing to check first
        check = getattr(importlib.import_module(f"{package}.client"), "preflight", None)
        problem: str | None = await check(env) if check is not None else None
        return problem

    return ProtocolPlugin(
        name=name,
        title=title,
        package=package,
        builtin_profile=lambda: packaged(package, "profile.yaml"),
        profile_schema=lambda: packaged(package, "profile.schema.json"),
        catalogue=lambda: entry("cases", "ordered")(),
        faults=lambda: entry("reference.faults", "FAULTS"),
        reference_app=reference_app,
        serve_options=tuple(serve_options),
        variants=lambda: entry("reference.variants", "VARIANTS"),
        embedded_profile=lambda: packaged(package, "embedded.yaml"),
        kill_matrix=lambda: entry("reference.faults", "FAULTS").kill_matrix(),
        fuzz_catalogue=lambda: list(entry("fuzzcases", "FUZZ_CATALOGUE")),
        replay=replay,
        load_script=lambda: entry("load", "SCRIPT"),
        preflight=preflight,
    )


def names() -> list[str]:
    return sorted(_REGISTRY)


@cache
def plugin(name: str) -> ProtocolPlugin:
    """The plug-in of a protocol; KeyError naming the known ones."""
    if name not in _REGISTRY:
        raise KeyError(f"unknown protocol {name!r}; known: {', '.join(names())}")
    loaded: ProtocolPlugin = importlib.import_module(_REGISTRY[name]).PLUGIN
    return loaded


def profile_of(name: str) -> ProtocolProfile:
    """What the profile loader needs of a plug-in (it never asks the registry itself): its
    built-in profile, its profile schema and its embedded values; KeyError as `plugin`."""
    found = plugin(name)
    return ProtocolProfile(
        name=found.name,
        builtin=found.builtin_profile(),
        schema=found.profile_schema(),
        embedded=found.embedded_profile(),
    )
