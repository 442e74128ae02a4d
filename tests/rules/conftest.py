"""Helpers for the rules tests: the default rule set, a scratch copy of rules/ to break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.factories import RULES_DIR


@pytest.fixture(scope="session")
def default_ruleset():
    from app.rules import load_dir

    ruleset, problems = load_dir(RULES_DIR)
    assert not problems
    return ruleset


@pytest.fixture
def rules_copy(tmp_path) -> Path:
    """A scratch copy of rules/ (TOML files only)."""
    target = tmp_path / "rules"
    target.mkdir()
    for file in RULES_DIR.glob("*.toml"):
        shutil.copy(file, target / file.name)
    return target
