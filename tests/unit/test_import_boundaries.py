"""The layers of ../shared/design.md, enforced: who may import whom."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "oms_sourcing"

# third-party package -> the only places (package-relative prefixes) allowed to import it
THIRD_PARTY_HOMES = {
    "ortools": ("allocation/",),
    "networkx": ("inventory/",),
    "sqlalchemy": ("service/", "store/"),
    "alembic": ("store/",),
    "psycopg": ("store/",),
    "fastapi": ("service/",),
    "pydantic": ("formats/", "rules/", "service/", "simulation/", "cli/"),
    "yaml": ("formats/", "rules/", "simulation/", "cli/"),
    "typer": ("cli/",),
    "rich": ("cli/", "simulation/"),
}

# first-party layer -> layers it must not import
FORBIDDEN_LAYERS = {
    "domain": ("rules", "inventory", "allocation", "lifecycle", "service", "simulation", "cli",
               "formats"),
    "rules": ("allocation", "service", "simulation", "cli"),
    "inventory": ("rules", "allocation", "service", "simulation", "cli", "formats"),
    "allocation": ("service", "simulation", "cli", "formats"),
    "lifecycle": ("rules", "inventory", "allocation", "service", "simulation", "cli", "formats"),
    # the durable stock store sits under the service layer: domain, inventory and errors only
    "store": ("rules", "allocation", "lifecycle", "service", "simulation", "cli", "formats"),
}


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_there_is_code_to_check() -> None:
    assert len(modules()) > 10


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_third_party_packages_stay_in_their_layer(path: Path) -> None:
    rel = path.relative_to(PACKAGE).as_posix()
    for lineno, name in imports_of(path):
        top = name.split(".")[0]
        homes = THIRD_PARTY_HOMES.get(top)
        if homes is not None:
            assert rel.startswith(homes), f"{rel}:{lineno} imports {name}; only {homes} may"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_layers_only_import_downwards(path: Path) -> None:
    rel = path.relative_to(PACKAGE).as_posix()
    layer = rel.split("/")[0].removesuffix(".py")
    forbidden = FORBIDDEN_LAYERS.get(layer, ())
    for lineno, name in imports_of(path):
        parts = name.split(".")
        if parts[0] == "oms_sourcing" and len(parts) > 1:
            assert parts[1] not in forbidden, f"{rel}:{lineno} imports {name}"


def test_the_domain_uses_the_standard_library_only() -> None:
    stdlib = sys.stdlib_module_names
    for path in (PACKAGE / "domain").rglob("*.py"):
        for lineno, name in imports_of(path):
            top = name.split(".")[0]
            assert top in stdlib or top == "oms_sourcing", f"{path.name}:{lineno} imports {name}"


def test_the_lifecycle_uses_the_standard_library_the_domain_and_the_errors_only() -> None:
    stdlib = sys.stdlib_module_names
    allowed = ("oms_sourcing.domain", "oms_sourcing.errors", "oms_sourcing.lifecycle")
    paths = sorted((PACKAGE / "lifecycle").rglob("*.py"))
    assert paths
    for path in paths:
        for lineno, name in imports_of(path):
            ok = name.split(".")[0] in stdlib or any(
                name == a or name.startswith(a + ".") for a in allowed
            )
            assert ok, f"lifecycle/{path.name}:{lineno} imports {name}"
    errors = PACKAGE / "errors.py"
    assert all(name.split(".")[0] in stdlib for _, name in imports_of(errors))


def test_importing_the_package_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, oms_sourcing\n"
        "heavy = [m for m in ('ortools', 'sqlalchemy', 'fastapi', 'networkx', 'numpy') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
