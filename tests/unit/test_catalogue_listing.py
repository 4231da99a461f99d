"""The catalogues as `conformance list` prints them are the committed listings."""

from __future__ import annotations

import pytest

from conformance import protocols
from conformance.cli import main
from tests.catalogue import listing


@pytest.mark.parametrize("protocol", protocols.names())
def test_list_prints_the_committed_catalogue(
    protocol: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every case id, level, area and clause, in order, as committed in tests/catalogue/ (a
    deliberate change of the catalogue updates that file in the same commit)."""
    assert main(["list", "--protocol", protocol]) == 0
    assert capsys.readouterr().out == listing(protocol)
