"""The pure packages stay pure: no Flask, no SQLAlchemy, no Werkzeug, and of the app only themselves and the
packages they build on. That is what lets the formula engine, the workflow, rule sets, charts and PDFs be
tested, fuzzed and benchmarked without a database or a request."""

from __future__ import annotations

import ast
import re
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
    "charts": {"kept"},
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


# -- layers ------------------------------------------------------------------------------------------------

def module_imports(folder: str):
    """(file, imported module) for every import in app/<folder>, relative ones resolved."""
    for path in sorted((APP / folder).rglob("*.py")):
        for module in imported_modules(path):
            yield path, module


def reaches(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize(("folder", "forbidden"), [
    ("views", ("app.api",)),
    ("api", ("app.views",)),
    ("web", ("app.views", "app.api")),
    ("services", ("app.views", "app.api", "app.web", "app.jobs", "app.notify")),
    ("importing", ("app.views", "app.api", "app.web", "app.jobs", "app.notify")),
    ("jobs", ("app.views", "app.api")),
    ("notify", ("app.views", "app.api", "app.web", "app.jobs")),
])
def test_screens_apis_and_services_keep_their_layers(folder, forbidden):
    """Screens and APIs share through app/web (and register through their own packages), never through each
    other; services know neither, nor app/web. Background jobs call services and are started by screens and
    APIs: they import neither, and no service or importer imports them."""
    wrong = [f"{path.relative_to(APP.parent)} imports {module}"
             for path, module in module_imports(folder) if any(reaches(module, f) for f in forbidden)]
    assert not wrong, "\n".join(wrong)


# -- imports inside functions -------------------------------------------------------------------------------

MAX_LATE_IMPORTS = 30
FACTORY = {("__init__.py", "create_app"), ("__init__.py", "sync_permissions")}  # ``import app`` stays cheap


def late_imports():
    """(path, line, function name) of every import of the app's own modules inside a function."""
    for path in sorted(APP.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if imports_the_app(node):
                    yield path, node.lineno, function.name


def imports_the_app(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return bool(node.level) or (node.module or "").split(".")[0] == "app"
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] == "app" for alias in node.names)
    return False


def test_imports_inside_functions_are_few_and_say_why():
    found = sorted(set(late_imports()))
    assert len(found) <= MAX_LATE_IMPORTS, f"{len(found)} imports inside functions"
    unexplained = []
    for path, line, function in found:
        if path.parent == APP and (path.name, function) in FACTORY:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        near = lines[line - 1] + "\n" + (lines[line - 2] if line > 1 else "")
        if "# late:" not in near:
            unexplained.append(f"{path.relative_to(APP.parent)}:{line} in {function}()")
    assert not unexplained, "an import inside a function needs '# late: <reason>' on its line or the one " \
        "above:\n" + "\n".join(unexplained)


# -- sizes and words ----------------------------------------------------------------------------------------

MAX_LINES = 500
LONG_ON_PURPOSE = {"engine/closures.py"}  # one closure per operator and shape: the hot path, kept together


def test_no_module_needs_a_table_of_contents():
    long = [f"{path.relative_to(APP.parent)}: {n} lines" for path in sorted(APP.rglob("*.py"))
            if str(path.relative_to(APP)) not in LONG_ON_PURPOSE
            and (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert not long, "\n".join(long)


WORDS = re.compile(r"SPEC §|\bissue \d|contract item", re.IGNORECASE)
SHIPPED = ("app", "templates", "migrations", "rules")
TEXT_FILES = {".py", ".html", ".toml", ".md", ".tsv", ".js", ".css", ".txt"}


def test_shipped_files_name_what_they_mean_not_where_the_work_came_from():
    found = []
    for folder in SHIPPED:
        for path in sorted((APP.parent / folder).rglob("*")):
            if path.is_file() and path.suffix in TEXT_FILES:
                for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                    if WORDS.search(line):
                        found.append(f"{path.relative_to(APP.parent)}:{n}: {line.strip()[:80]}")
    assert not found, "\n".join(found)
