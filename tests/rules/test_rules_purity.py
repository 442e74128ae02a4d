"""app/rules is pure Python: neither Flask nor SQLAlchemy, nothing of app but app.engine and itself."""

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
FORBIDDEN = ("flask", "flask_appbuilder", "flask_babel", "flask_sqlalchemy", "sqlalchemy", "werkzeug")


def imported(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = path.relative_to(APP.parent).with_suffix("").parts[: -node.level]
                yield ".".join(parts + ((node.module,) if node.module else ()))
            elif node.module:
                yield node.module


def test_rules_package_is_pure_and_says_so():
    folder = APP / "rules"
    assert "pure" in (folder / "README.md").read_text(encoding="utf-8").lower()
    files = list(folder.rglob("*.py"))
    assert len(files) >= 5
    for path in files:
        for module in imported(path):
            root = module.split(".")[0]
            assert root not in FORBIDDEN, f"{path.name} imports {module}"
            if root == "app":
                assert module.startswith(("app.rules", "app.engine")), f"{path.name} imports {module}"
