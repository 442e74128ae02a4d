"""The pure packages stay pure: no Flask, no SQLAlchemy, no Werkzeug, and of the app only themselves and the
packages they build on. That is what lets the formula engine, the workflow, rule sets, charts and PDFs be
tested, fuzzed and benchmarked without a database or a request."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
FORBIDDEN = ("flask", "flask_appbuilder", "flask_babel", "flask_sqlalchemy", "flask_wtf", "flask_login",
             "sqlalchemy", "werkzeug")

# package → the other app packages it may import
PURE = {
    "engine": set(),
    "workflow": {"engine"},
    "rules": {"engine"},
    "charts": set(),
    "pdf": {"charts"},
}


def imported_modules(path: Path):
    """Every module ``path`` imports, relative ones resolved to absolute names (``from .. import x`` too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = path.relative_to(APP.parent).with_suffix("").parts[:-1]
                base = ".".join(package[: len(package) - node.level + 1])
                if node.module:
                    yield f"{base}.{node.module}"
                else:
                    yield from (f"{base}.{alias.name}" for alias in node.names)
            elif node.module:
                yield node.module


def app_package(module: str) -> str | None:
    """``app.engine.ops`` → ``engine``; ``app`` itself → ``""``; not the app → None."""
    parts = module.split(".")
    if parts[0] != "app":
        return None
    return parts[1] if len(parts) > 1 else ""


@pytest.mark.parametrize("package", sorted(PURE))
def test_pure_package_imports_no_web_or_database_library_and_only_its_own_layers(package):
    folder = APP / package
    files = sorted(folder.rglob("*.py"))
    assert files
    allowed = PURE[package] | {package}
    for path in files:
        for module in imported_modules(path):
            assert module.split(".")[0] not in FORBIDDEN, f"{path} imports {module}"
            inside = app_package(module)
            assert inside is None or inside in allowed, \
                f"{path} imports {module}; app/{package} may import only {sorted(allowed)}"


@pytest.mark.parametrize("package", sorted(PURE))
def test_pure_package_readme_states_the_rule(package):
    text = (APP / package / "README.md").read_text(encoding="utf-8")
    assert "pure" in text.lower() and "Flask" in text and "SQLAlchemy" in text


def test_engine_imports_only_the_standard_library_and_simpleeval():
    for path in sorted((APP / "engine").rglob("*.py")):
        for module in imported_modules(path):
            root = module.split(".")[0]
            own = module.startswith("app.engine")
            assert own or root in sys.stdlib_module_names or root == "simpleeval", \
                f"{path.name} imports {module}"


def test_relative_imports_are_resolved_to_the_package_they_name(tmp_path, monkeypatch):
    """So that ``from ..services import x`` inside a pure package is caught, not read as its own module."""
    folder = tmp_path / "app" / "rules"
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("from . import model\nfrom ..engine import ops\n", encoding="utf-8")
    (folder / "deep.py").write_text("from .model import X\nfrom ..services.rules import y\n",
                                    encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "APP", tmp_path / "app")
    assert list(imported_modules(folder / "__init__.py")) == ["app.rules.model", "app.engine"]
    assert list(imported_modules(folder / "deep.py")) == ["app.rules.model", "app.services.rules"]
