"""A built wheel carries schemas/ and fixtures/, and the installed package finds them."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_wheel_carries_the_data(tmp_path: Path) -> None:
    """The wheel holds the data files, and an install of it reads them from site-packages."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        timeout=280,
    )
    (wheel,) = tmp_path.glob("conformance-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "conformance/_data/schemas/metahuman/asyncapi.yaml",
        "conformance/_data/schemas/metahuman/messages/session.update.schema.json",
        "conformance/_data/fixtures/audio/index.json",
        "conformance/_data/fixtures/audio/hello_weather.mp3",
    ):
        assert expected in names
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        timeout=120,
    )
    probe = (
        "import conformance.resources as r, conformance.fixtures as f;"
        "print(r.data_root()); print(len(f.clips()))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.split()
    assert shown[0] == str(target / "conformance" / "_data")
    assert int(shown[1]) >= 3
