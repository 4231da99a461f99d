"""The test suite's own rules, read from its source with `ast`: every test can fail, and shared
helpers live in helper modules, not in test modules."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent

# The helpers that assert on a test's behalf, by name and the file that defines them. A test
# calling one of them (imported from that file, or defined in it) asserts through it.
ASSERTING_HELPERS: dict[str, str] = {
    # an SDK chat on a reference server: it asserts at exit that the SDK parsed every message
    "sdk_chat": "tests/e2e/test_evi_sdk.py",
    # the table of Chat Mode variant observations, called as OBSERVED[variant](client, active)
    "OBSERVED": "tests/e2e/test_chatmode_variants.py",
}


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@cache
def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def modules() -> list[Path]:
    return sorted(TESTS.rglob("*.py"))


def modules_of_tests() -> list[Path]:
    return [path for path in modules() if path.name.startswith("test_")]


def collected_tests(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The test functions of a module: top-level `test_*`, and `test_*` methods of `Test*`."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            yield node
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            yield from (
                f
                for f in node.body
                if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                and f.name.startswith("test")
            )


def callee(call: ast.Call) -> str | None:
    """The name a call is made by: `f(...)`, `x.f(...)` and `TABLE[key](...)`."""
    func = call.func.value if isinstance(call.func, ast.Subscript) else call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def origins(path: Path) -> dict[str, str]:
    """Where each name of a module comes from: the file of a `from tests... import`, or itself."""
    found = {}
    for node in parsed(path).body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tests."):
            source = str(node.module).replace(".", "/") + ".py"
            found.update({alias.asname or alias.name: source for alias in node.names})
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found[node.name] = relative(path)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found.update({t.id: relative(path) for t in targets if isinstance(t, ast.Name)})
    return found


def asserts(test: ast.AST, names: dict[str, str]) -> bool:
    """An `assert`, a `pytest.raises` or `pytest.fail`, or a call of an asserting helper."""
    for node in ast.walk(test):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call):
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and (func.value.id, func.attr) in {("pytest", "raises"), ("pytest", "fail")}
            ):
                return True
            name = callee(node)
            if name in ASSERTING_HELPERS and names.get(name) == ASSERTING_HELPERS[name]:
                return True
    return False


def test_every_test_asserts_something() -> None:
    """Every test function contains an `assert`, a `pytest.raises`/`pytest.fail`, or calls a
    helper of ASSERTING_HELPERS (as `f(...)`, `x.f(...)` or `TABLE[key](...)`): a test that only
    runs code, or only waits, passes whatever the behaviour. A test that asserts through another
    helper states it with an `assert` of its own, or the helper joins the allow-list."""
    silent = [
        f"{relative(path)}::{test.name}"
        for path in modules_of_tests()
        for test in collected_tests(parsed(path))
        if not asserts(test, origins(path))
    ]
    assert silent == []


def test_the_asserting_helpers_assert() -> None:
    """Each allow-listed helper is defined where it says and asserts: a function with an
    `assert`, or a table whose every entry is such a function of the same file."""
    for name, source in ASSERTING_HELPERS.items():
        tree = parsed(ROOT / source)
        functions = {
            node.name: node
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        if name in functions:
            assert asserts(functions[name], {}), f"{source}: {name} asserts nothing"
            continue
        tables = [
            node.value
            for node in tree.body
            if isinstance(node, ast.Assign | ast.AnnAssign)
            and isinstance(node.value, ast.Dict)
            and name
            in {
                t.id
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(t, ast.Name)
            }
        ]
        assert len(tables) == 1, f"{source} defines no function or table {name}"
        for entry in tables[0].values:
            assert isinstance(entry, ast.Name), f"{source}: {name} holds more than functions"
            assert entry.id in functions, f"{source}: {name} holds {entry.id}, not a function"
            assert asserts(functions[entry.id], {}), f"{source}: {entry.id} asserts nothing"


def imported_modules(tree: ast.Module) -> Iterator[str]:
    """Every module a module imports from, `from X import Y` also as X.Y (Y may be a module)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_no_module_imports_a_test_module() -> None:
    """Shared helpers live in helper modules (tests/e2e/turns.py, tests/e2e/evi_harness.py,
    tests/selftest/runs.py, ...): importing a `test_*` module runs its tests' module twice
    under two names, and couples one test file's edits to another's."""
    found = [
        f"{relative(path)} imports {name}"
        for path in modules()
        for name in imported_modules(parsed(path))
        if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_")
    ]
    assert found == []


def test_no_conftest_imports_another() -> None:
    """A conftest imports no other conftest: what two folders share is a helper module."""
    found = [
        f"{relative(path)} imports {name}"
        for path in modules()
        if path.name == "conftest.py"
        for name in imported_modules(parsed(path))
        if name.endswith(".conftest")
    ]
    assert found == []
