"""The selftests' fixtures: reference servers with faults, in this process."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from conformance.embedded import EmbeddedServer


@pytest.fixture
def faulty() -> Iterator[Any]:
    """Start reference servers with faults in this process; yields a starter returning URLs."""
    servers: list[EmbeddedServer] = []

    def start(faults: Sequence[str] = (), protocol: str = "metahuman") -> str:
        server = EmbeddedServer.reference(protocol, faults)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
