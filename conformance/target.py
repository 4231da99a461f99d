"""The target of a run, resolved once: its protocol's plug-in, its profile, its URL (the
embedded reference server, started here, when none is given) and where reports go.

`conformance run`, `fuzz` and `load`, the pytest plugin and the Locust users all start from a
`Target`, so a profile is read, validated and merged in one place and the same flags mean the
same thing in every mode.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from conformance import protocols
from conformance.embedded import EmbeddedServer
from conformance.engine.context import Env, Recorder
from conformance.engine.model import HarnessError
from conformance.hosting import reachable
from conformance.profiles import Profile, ProfileError, load_profile, profile_protocol, profile_url

__all__ = ["Target", "TargetError"]


class TargetError(Exception):
    """A bad profile or an unreachable target: the user's to fix, said in one line."""


@dataclass(slots=True, kw_only=True)
class Target:
    """A server under test and what the suite knows of it."""

    plugin: protocols.ProtocolPlugin
    profile: Profile
    url: str
    report_dir: Path
    embedded: EmbeddedServer | None = field(default=None)

    @property
    def protocol(self) -> str:
        return self.plugin.name

    @classmethod
    def resolve(
        cls,
        *,
        url: str | None = None,
        protocol: str | None = None,
        profile: Path | None = None,
        report_dir: Path = Path("reports"),
        embedded: bool = True,
        preflight: bool = True,
    ) -> Target:
        """The target of these flags. With no URL (neither given nor in the profile) the
        embedded reference server is started, and its own readings of open points are pinned;
        `embedded=False` refuses that instead (a Locust worker needs a real host). A server
        that cannot be reached, or that refuses the profile's credentials (the plug-in's
        preflight; `preflight=False` skips it), is refused at once, naming why."""
        try:
            name = profile_protocol(profile, protocol=protocol, known=protocols.names())
            url = url or profile_url(profile)
            if url is None and not embedded:
                raise TargetError("give the server's URL (or `url` in the profile)")
            loaded = load_profile(profile, protocols.profile_of(name), embedded=url is None)
        except ProfileError as exc:
            raise TargetError(f"invalid profile: {exc}") from None
        plugin = protocols.plugin(name)
        # from the start, so that a run killed at any moment still leaves its directory
        report_dir.mkdir(parents=True, exist_ok=True)
        if url is None:
            server = EmbeddedServer.reference(name)
            return cls(
                plugin=plugin,
                profile=loaded,
                url=server.start(),
                report_dir=report_dir,
                embedded=server,
            )
        problem = reachable(url, loaded.timeouts.connect)
        if problem is not None:
            raise TargetError(f"unreachable target: {problem}")
        problem = _preflight(plugin, url, loaded, report_dir) if preflight else None
        if problem is not None:
            raise TargetError(f"{problem} ({loaded.source})")
        return cls(plugin=plugin, profile=loaded, url=url, report_dir=report_dir)

    def describe(self) -> str:
        where = f"{self.url} (embedded reference server)" if self.embedded else self.url
        return f"{self.protocol} against {where}, profile {self.profile.source}"

    def close(self) -> None:
        """Stop the embedded server, if this target started one."""
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None

    def __enter__(self) -> Target:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _preflight(
    plugin: protocols.ProtocolPlugin, url: str, profile: Profile, report_dir: Path
) -> str | None:
    """The plug-in's check that the profile can reach the server at all (its credentials); a
    harness or network failure here is left for the cases to meet and report."""
    env = Env(url=url, profile=profile, recorder=Recorder(), report_dir=report_dir)

    async def check() -> str | None:
        async with asyncio.timeout(profile.timeouts.connect + profile.timeouts.event):
            return await plugin.preflight(env)

    try:
        return asyncio.run(check())
    except (HarnessError, TimeoutError, OSError):
        return None
