"""Where the data read at run time lives: `schemas/` and `fixtures/`.

In a source checkout they sit at the top level beside the package; an installed wheel carries
them as `conformance/_data/` (pyproject.toml force-includes them). Never the current directory.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

__all__ = ["data_root", "fixtures_dir", "schemas_dir"]

_PACKAGE = Path(__file__).resolve().parent


@cache
def data_root() -> Path:
    """The folder holding `schemas/` and `fixtures/`, installed or checked out."""
    for candidate in (_PACKAGE / "_data", _PACKAGE.parent):
        if (candidate / "schemas").is_dir() and (candidate / "fixtures").is_dir():
            return candidate
    raise FileNotFoundError(
        f"neither {_PACKAGE / '_data'} nor {_PACKAGE.parent} holds schemas/ and fixtures/; "
        "reinstall the package"
    )


def schemas_dir(protocol: str) -> Path:
    """The schema folder of one protocol, e.g. `schemas_dir("metahuman")`."""
    return data_root() / "schemas" / protocol


def fixtures_dir(kind: str = "audio") -> Path:
    """A fixture folder, e.g. `fixtures_dir("audio")`."""
    return data_root() / "fixtures" / kind
