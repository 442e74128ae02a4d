"""The default workflow follows its file: read again when the file changes, not on every call."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from flask import Flask

from app.services import workflows

ROOT = Path(__file__).resolve().parents[2]


def test_the_default_table_follows_an_edit_of_its_file(tmp_path):
    shutil.copy(ROOT / "rules" / "workflow.toml", tmp_path / "workflow.toml")
    app = Flask(__name__)
    app.config["JIXIAO_RULES_DIR"] = str(tmp_path)
    with app.app_context():
        first = workflows.default_table()
        assert workflows.default_table() is first  # unchanged file: the same table, not parsed again
        path = tmp_path / "workflow.toml"
        text = path.read_text(encoding="utf-8")
        edited = text.replace('en = "Pending review"', 'en = "Waiting for review"', 1)
        assert edited != text
        path.write_text(edited, encoding="utf-8")
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
        second = workflows.default_table()
    assert second is not first
    labels = {key: en for key, (_zh, en) in second.labels.items() if key.endswith(":pending_review")}
    assert set(labels.values()) == {"Waiting for review"}, labels
