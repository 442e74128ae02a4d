"""app/engine and app/workflow are pure Python: they never import Flask or SQLAlchemy."""

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
FORBIDDEN = ("flask", "flask_appbuilder", "flask_babel", "flask_sqlalchemy", "sqlalchemy", "werkzeug")


def imported_modules(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the package to catch `from .. import views`
                parts = path.relative_to(APP.parent).with_suffix("").parts[: -node.level]
                yield ".".join(parts + ((node.module,) if node.module else ()))
            elif node.module:
                yield node.module


@pytest.mark.parametrize("package", ["engine", "workflow"])
def test_pure_package_imports_neither_flask_nor_sqlalchemy(package):
    folder = APP / package
    assert (folder / "README.md").exists(), f"app/{package}/README.md states the import rule"
    files = list(folder.rglob("*.py"))
    assert files
    for path in files:
        for module in imported_modules(path):
            root = module.split(".")[0]
            assert root not in FORBIDDEN, f"{path} imports {module}"
            if root == "app":
                allowed = {"app", f"app.{package}", "app.engine"}
                assert any(module == a or module.startswith(a + ".") for a in allowed if a != "app") \
                    or module == "app", f"{path} imports {module}, outside the pure packages"
