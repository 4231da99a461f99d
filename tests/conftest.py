"""Shared fixtures: a reference server on 127.0.0.1 (port 0) and recorded Socket.IO peers."""

from __future__ import annotations

import base64
import copy
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import pytest
from aiohttp import web

from conformance import schemas
from conformance.engine.transcript import Transcript
from conformance.fixtures import clip
from conformance.hosting import running
from conformance.protocols.metahuman.reference.faults import FAULTS, ActiveFaults
from conformance.protocols.metahuman.reference.providers import Providers
from conformance.protocols.metahuman.reference.server import ReferenceServer
from conformance.protocols.metahuman.reference.variants import VARIANTS, ActiveVariants
from conformance.transports.socketio import SocketIOPeer
from tests.selftest.runs import Matrices

# The seed's own session.update example (seed 001, from the AsyncAPI document), with a real
# voice, speed 1 and ordered deltas.
SESSION_UPDATE: dict[str, Any] = copy.deepcopy(schemas.examples("metahuman", "session.update")[0])
SESSION_UPDATE["TTS"].update(voice="alloy", speed=1, isOrdered=True)


def session_update(
    response_type: str = "single",
    *,
    is_base64: bool = True,
    is_ordered: bool = True,
    media_format: str = "mp3",
    **sections: Mapping[str, Any],
) -> dict[str, Any]:
    """The seed's session.update with TTS flags set and sections merged in."""
    payload = copy.deepcopy(SESSION_UPDATE)
    payload["TTS"].update(
        responseType={"name": response_type, "title": response_type.title()},
        isBase64=is_base64,
        isOrdered=is_ordered,
    )
    payload["STT"]["mediaFormat"] = media_format
    for name, values in sections.items():
        payload[name].update(values)
    return payload


def chunks(data: bytes, size: int) -> list[str]:
    """The base64 chunks of `data`, split every `size` bytes."""
    return [base64.b64encode(data[i : i + size]).decode() for i in range(0, len(data), size)]


def fixture_audio(name: str = "hello_weather", fmt: str = "mp3") -> bytes:
    return clip(name).files[fmt].read_bytes()


class ServerFactory(Protocol):
    def __call__(
        self,
        faults: Iterable[str] = (),
        *,
        providers: Providers | None = None,
        token: str | None = None,
        slow_first_audio_s: float = 8.0,
        variants: Iterable[str] = (),
    ) -> Awaitable[str]: ...


@pytest.fixture
async def reference() -> AsyncIterator[ServerFactory]:
    """Start reference servers on 127.0.0.1, port 0; each call gives a URL."""
    stack: list[Any] = []

    async def start(
        faults: Iterable[str] = (),
        *,
        providers: Providers | None = None,
        token: str | None = None,
        slow_first_audio_s: float = 8.0,
        variants: Iterable[str] = (),
    ) -> str:
        server = ReferenceServer(
            faults=ActiveFaults(FAULTS, faults),
            variants=ActiveVariants(VARIANTS, variants),
            providers=providers,
            token=token,
            slow_first_audio_s=slow_first_audio_s,
        )
        context = running(server.attach(web.Application()))
        stack.append(context)
        return await context.__aenter__()

    yield start
    for context in reversed(stack):
        await context.__aexit__(None, None, None)


PeerFactory = Callable[..., Awaitable[SocketIOPeer]]


@pytest.fixture
async def peer() -> AsyncIterator[PeerFactory]:
    """Connected Socket.IO peers sharing one transcript, closed at teardown."""
    transcript = Transcript()
    peers: list[SocketIOPeer] = []

    async def connect(
        url: str, name: str = "sender", *, connect: bool = True, **auth: Any
    ) -> SocketIOPeer:
        made = SocketIOPeer(url, name=name, transcript=transcript, auth=auth or None)
        peers.append(made)
        if connect:
            await made.connect()
        return made

    yield connect
    for made in peers:
        await made.close()


# --- the tiers ---------------------------------------------------------------------------------

# The folders under tests/, each a marker (pyproject.toml): `pytest -m unit` runs the unit tests
# alone, `pytest -m "not selftest"` all but the slow tier; a bare `pytest` runs every tier.
TIERS = ("unit", "e2e", "selftest")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the tier folder it lives in (before `-m` deselects by marker)."""
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            tier = item.path.relative_to(here).parts[0]
            if tier in TIERS:
                item.add_marker(getattr(pytest.mark, tier))


# --- the selftests' matrix cells --------------------------------------------------------------


@pytest.fixture(scope="session")
def matrices(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Matrices]:
    runs = Matrices()
    for item in request.session.items:
        cell = getattr(getattr(item, "module", None), "MATRIX_CELL", None)
        params = getattr(item, "callspec", None)
        if cell is None or params is None or "key" not in params.params:
            continue
        key = str(params.params["key"])
        module = item.module.__name__  # type: ignore[attr-defined]
        root = tmp_path_factory.getbasetemp() / module.rsplit(".", 1)[-1] / key.replace(":", "-")

        def run(cell: Callable[[Path, str], Any] = cell, root: Path = root, key: str = key) -> Any:
            root.mkdir(parents=True, exist_ok=True)
            return cell(root, key)

        runs.submit(module, key, run)
    yield runs
    runs.close()


@pytest.fixture(scope="session", autouse=True)
def _matrix_cells_from_the_start(request: pytest.FixtureRequest) -> None:
    """Start the selected matrix cells with the session, not at the first selftest: they mostly
    wait on servers, so they overlap the unit and e2e tests instead of following them."""
    if any(getattr(getattr(i, "module", None), "MATRIX_CELL", None) for i in request.session.items):
        request.getfixturevalue("matrices")
