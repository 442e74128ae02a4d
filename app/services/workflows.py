"""Which workflow table an appraisal follows: its rule-set version's workflow.toml, else the default.

Callers use ``workflows.workflow_table(...)`` through the module, so that one name decides the table
for every service, screen and API.
"""

from __future__ import annotations

import functools
from pathlib import Path

from flask import current_app, has_app_context

import config

from .. import permissions as p
from ..workflow import WorkflowTable, parse_table
from .rules import ruleset_for_version

WORKFLOW_FILE = "workflow.toml"


def default_workflow_file() -> Path:
    """The default rule set's workflow.toml (``JIXIAO_RULES_DIR``)."""
    rules_dir = current_app.config.get("JIXIAO_RULES_DIR") if has_app_context() else None
    return Path(rules_dir or config.BASE_DIR / "rules") / WORKFLOW_FILE


@functools.lru_cache(maxsize=32)
def table_from_text(text: str) -> WorkflowTable:
    """Parse and validate a workflow.toml text (cached: the same text gives the same table)."""
    return parse_table(text, roles=p.ROLES)


@functools.lru_cache(maxsize=8)
def _file_text(path: Path, mtime_ns: int, size: int) -> str:
    return path.read_text(encoding="utf-8")


def default_table() -> WorkflowTable:
    """The default workflow: the file is read again only when its modification time or size changes."""
    path = default_workflow_file()
    stat = path.stat()
    return table_from_text(_file_text(path, stat.st_mtime_ns, stat.st_size))


def workflow_table(session, rule_set_version_id: int | None) -> WorkflowTable:
    """The workflow of a rule-set version (its workflow.toml), else the default one."""
    if rule_set_version_id is not None:
        text = ruleset_for_version(session, rule_set_version_id).extras.get(WORKFLOW_FILE)
        if text:
            return table_from_text(text)
    return default_table()
