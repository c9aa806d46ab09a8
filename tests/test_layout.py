"""The folders show the architecture: two edges (GraphQL, REST) side by side over one core, the
shared HTTP plumbing below them, and one composition above that opens the services and mounts
both edges' routes. Read from every module's imports, so a new one cannot cross a line unseen."""

import ast
from pathlib import Path

import pytest

APP = Path(__file__).parent.parent / "app"
EDGES = ("app.graphql", "app.rest")
HTTP_PLUMBING = "app.http"
COMPOSITION = "app.composition"
ENTRY_POINT = "app.cli"  # above the composition: it serves what the composition builds
STORE = "app.store"
MONGODB_DRIVERS = ("pymongo", "bson", "motor", "mongomock", "mongomock_motor")


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
            # `from app import enums` imports the module app.enums.
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


MODULES = {module_name(path): imports_of(path) for path in sorted(APP.rglob("*.py"))}


def crossings(importer_in: str, imported: tuple[str, ...] | str) -> list[str]:
    imported = (imported,) if isinstance(imported, str) else imported
    return sorted(
        f"{module} imports {name}"
        for module, names in MODULES.items()
        if within(module, importer_in)
        for name in names
        if any(within(name, package) for package in imported)
    )


def test_the_modules_are_found() -> None:
    assert {"app.composition", "app.context", "app.graphql.schema", "app.rest.routes"} <= MODULES.keys()


@pytest.mark.parametrize(("edge", "other"), [("app.rest", "app.graphql"), ("app.graphql", "app.rest")])
def test_neither_edge_imports_the_other(edge: str, other: str) -> None:
    assert crossings(edge, other) == []


def test_the_http_plumbing_imports_no_edge_and_not_the_composition() -> None:
    assert crossings(HTTP_PLUMBING, (*EDGES, COMPOSITION, ENTRY_POINT)) == []


def test_only_the_entry_point_imports_the_composition() -> None:
    importers = {line.split()[0] for line in crossings("app", COMPOSITION)}
    assert all(within(importer, COMPOSITION) or within(importer, ENTRY_POINT) for importer in importers)


def test_the_core_imports_no_edge_nor_what_is_above_it() -> None:
    above = (*EDGES, HTTP_PLUMBING, COMPOSITION, ENTRY_POINT)
    core = [m for m in MODULES if not any(within(m, package) for package in above)]
    assert "app.context" in core and "app.values" in core
    found = [c for module in core for c in crossings(module, above) if c.split()[0] == module]
    assert found == []


def test_only_the_store_imports_the_mongodb_driver() -> None:
    found = [
        f"{module} imports {name}"
        for module, names in MODULES.items()
        if not within(module, STORE)
        for name in names
        if any(within(name, driver) for driver in MONGODB_DRIVERS)
    ]
    assert found == []
