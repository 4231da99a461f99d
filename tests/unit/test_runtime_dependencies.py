"""Every third-party module the package imports is a declared runtime dependency.

A user installs `pip install .`, without `[dev]`: an import that only `[dev]` satisfies breaks
the main command on a fresh machine while CI, which installs `[dev]`, stays green.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imported_top_levels() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "conformance").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"conformance", "__future__"}


def _declared(group: str | None = None) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = (
        project["dependencies"] if group is None else project["optional-dependencies"][group]
    )
    return {_normalise(re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0]) for r in requirements}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_import_of_the_package_is_a_runtime_dependency() -> None:
    """Each third-party import of conformance/ maps to a distribution in [project] dependencies."""
    distributions = packages_distributions()
    runtime = _declared()
    missing = {}
    for module in sorted(_imported_top_levels()):
        owners = {_normalise(d) for d in distributions.get(module, [module])}
        if not owners & runtime:
            missing[module] = sorted(owners)
    assert not missing, f"imported at run time but not in [project] dependencies: {missing}"


def test_the_scan_sees_the_imports_it_must() -> None:
    """The scan finds pytest and socketio, so the check above cannot pass by seeing nothing."""
    assert {"pytest", "socketio", "aiohttp", "av"} <= _imported_top_levels()
    assert "pytest" not in _declared("dev")
