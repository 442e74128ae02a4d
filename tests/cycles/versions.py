"""A second rule-set version for the tests of cycles on several versions: the published rules exported,
edited as text and loaded again (a new published version, current from then on)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.extensions import db
from app.services.rules import export_version, load_dir

# A new S01 SWOT item with an indicator of its own: only S01's technicians get it.
S01_INDICATOR = "swot_s01_delay"
S01_SWOT = f'''
[[swot]]
station = "S01"
year = 2026
kind = "W"
title = "新设站点考核"
positions = ["维修技师"]
description = "只在 S01 试行的指标。"
line = [
    {{ indicator = "{S01_INDICATOR}", weight = 5 }},
]
'''
S01_DEFINITION = f'''
[[indicator]]
code = "{S01_INDICATOR}"
name = "S01 配件延误"
name_en = "S01 parts delays"
category = "SWOT自定义"
kind = "formula"
value = "配件延误次数"
unit = "次"
target = 0
score = "MAX(0, 100 - 20 * value)"
direction = "lower"
description = "试行指标。"
test = [
    {{ inputs = {{ parts_delay_count = 0 }}, value = 0, score = 100 }},
]
'''


def publish_edited(directory: Path, edit: Callable[[Path], None]) -> str:
    """Export the current rules to ``directory``, let ``edit`` change the files, load them as the new
    current version; its label (v2, …)."""
    export_version(db.session, directory)
    edit(directory)
    return load_dir(db.session, directory, user="hr").version.label


def renamed_teamwork(directory: Path) -> None:
    """Only a name changes: every total and grade stays as it was."""
    path = directory / "indicators.toml"
    text, old = path.read_text(encoding="utf-8"), 'name = "团队协作（主管评分）"'
    assert old in text
    path.write_text(text.replace(old, 'name = "团队协作（主管打分）"'), encoding="utf-8")


def with_s01_indicator(directory: Path) -> None:
    """A new indicator for S01's technicians, from a new SWOT item."""
    for name, extra in (("swot.toml", S01_SWOT), ("indicators.toml", S01_DEFINITION)):
        path = directory / name
        path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
