"""app/engine is pure Python: it imports neither Flask nor SQLAlchemy (nor anything of the app outside it)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "app" / "engine"
ALLOWED_THIRD_PARTY = {"simpleeval"}


def imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield "." if node.level else node.module


def test_engine_imports_only_the_standard_library_and_simpleeval():
    files = sorted(ENGINE.glob("*.py"))
    assert len(files) > 5
    for path in files:
        for module in imports(path):
            root = module.split(".")[0]
            assert module == "." or root in sys.stdlib_module_names or root in ALLOWED_THIRD_PARTY, \
                f"{path.name} imports {module}"
            assert root not in {"flask", "flask_appbuilder", "flask_babel", "sqlalchemy", "app"}


def test_readme_states_the_rule():
    text = (ENGINE / "README.md").read_text(encoding="utf-8")
    assert "pure Python" in text and "Flask" in text and "SQLAlchemy" in text
