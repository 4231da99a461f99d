"""Each protocol plug-in stands alone: no module of one imports another plug-in.

What they share (the offline providers, faults and variants models, the registry) lives in
protocol-neutral modules under `conformance/protocols/`, so a plug-in can be removed, copied or
changed without touching the others.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conformance import protocols

ROOT = Path(__file__).resolve().parents[2]
PROTOCOLS = ROOT / "conformance" / "protocols"


def _imported(path: Path) -> set[str]:
    """The absolute names of the modules a file imports (relative imports resolved), and of
    any module named in a string (`importlib.import_module("...")`)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            module = node.module if node.level == 0 else ".".join([*base, node.module or ""])
            names.update(f"{module}.{alias.name}".rstrip(".") for alias in node.names)
        elif isinstance(node, ast.Constant) and str(node.value).startswith(
            "conformance.protocols."
        ):
            names.add(str(node.value))
    return names


def _crossings() -> list[str]:
    crossings = []
    for name in protocols.names():
        others = [other for other in protocols.names() if other != name]
        for path in sorted((PROTOCOLS / name).rglob("*.py")):
            for module in sorted(_imported(path)):
                for other in others:
                    prefix = f"conformance.protocols.{other}"
                    if module == prefix or module.startswith(f"{prefix}."):
                        crossings.append(f"{path.relative_to(ROOT)} imports {module}")
    return crossings


def test_no_plugin_imports_another() -> None:
    """No module under protocols/<name>/ imports conformance.protocols.<another name>."""
    assert _crossings() == []


def test_the_scan_sees_imports_between_modules_of_a_plugin() -> None:
    """The scan resolves what it must, so the check above cannot pass by seeing nothing."""
    seen = _imported(PROTOCOLS / "evi" / "reference" / "server.py")
    assert "conformance.protocols.evi.reference.config.API_KEY" in seen
    assert "conformance.protocols.providers" in str(
        _imported(PROTOCOLS / "chatmode" / "reference" / "providers.py")
    )
