"""rules/ directories ⇄ RuleSet: parse with tomllib, dump canonically with tomli_w.

The dump is canonical (fixed file set, key order, number form and header), so that
``dump(parse(dump(x))) == dump(x)`` byte for byte, and the SHA-256 of the dump identifies a rule
set's content. Other ``*.toml`` files of the directory (e.g. ``workflow.toml``, owned by the workflow)
are passed through verbatim in ``RuleSet.extras``.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from pathlib import Path

import tomli_w

from .items import GradeBand, Indicator, OutcomeRule, SwotItem, Template
from .model import RULE_FILES, Problem
from .ruleset import RuleSet

MAX_FILE_BYTES = 2 * 1024 * 1024
REQUIRED_FILES = ("indicators.toml", "templates.toml", "grades.toml")

HEADERS = {
    "indicators.toml": "# 指标 Indicators. 格式说明 / format: README.md\n\n",
    "templates.toml": (
        "# 考核方案 Templates: indicators and weights per position, station or segment. See README.md\n\n"
    ),
    "grades.toml": "# 等级与结果规则 Grade bands and outcome rules. See README.md\n\n",
    "swot.toml": (
        "# SWOT 分析（按服务站、年度）SWOT per station and year, with custom indicators. See README.md\n\n"
    ),
}

# file → [(TOML array name, item class, RuleSet attribute)]
_LAYOUT: dict[str, list[tuple[str, type, str]]] = {
    "indicators.toml": [("indicator", Indicator, "indicators")],
    "templates.toml": [("template", Template, "templates")],
    "grades.toml": [("grade", GradeBand, "grades"), ("outcome", OutcomeRule, "outcomes")],
    "swot.toml": [("swot", SwotItem, "swot")],
}


def read_dir(path: str | Path) -> tuple[dict[str, str], list[Problem]]:
    """The ``*.toml`` files of a directory as text (not recursive), and problems reading them."""
    root = Path(path)
    problems: list[Problem] = []
    if not root.is_dir():
        problems.append(Problem(str(path), "", "", "MISSING_FILE", "目录不存在",
                                "the directory does not exist"))
        return {}, problems
    files: dict[str, str] = {}
    for file in sorted(root.glob("*.toml")):
        if not file.is_file():
            continue
        if file.stat().st_size > MAX_FILE_BYTES:
            problems.append(Problem(file.name, "", "", "TOO_LONG", "文件过大（最多 2 MB）",
                                    "the file is too large (at most 2 MB)"))
            continue
        try:
            files[file.name] = file.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            problems.append(Problem(file.name, "", "", "ENCODING", "文件不是 UTF-8 编码",
                                    "the file is not UTF-8 encoded"))
    return files, problems


def parse_files(files: Mapping[str, str]) -> tuple[RuleSet, list[Problem]]:
    """Build a RuleSet from file texts; every shape problem is listed, none is raised."""
    problems: list[Problem] = []
    parts: dict[str, tuple] = {}
    for name in REQUIRED_FILES:
        if name not in files:
            problems.append(Problem(name, "", "", "MISSING_FILE", "缺少此文件", "this file is missing"))
    for name, layout in _LAYOUT.items():
        doc: dict = {}
        if name in files:
            try:
                doc = tomllib.loads(files[name])
            except tomllib.TOMLDecodeError as exc:
                problems.append(Problem(name, "", "", "TOML", f"TOML 格式错误：{exc}",
                                        f"TOML syntax error: {exc}"))
        known = {array for array, _, _ in layout}
        for key in doc:
            if key not in known:
                problems.append(Problem(name, "", str(key), "UNKNOWN_KEY",
                                        f"未知的键“{key}”（应为 {' / '.join(sorted(known))}）",
                                        f"unknown key “{key}” (expected {' / '.join(sorted(known))})"))
        for array, cls, attr in layout:
            tables = doc.get(array, [])
            if not isinstance(tables, list):
                problems.append(Problem(name, "", array, "BAD_VALUE", f"“{array}”应写作 [[{array}]]",
                                        f"“{array}” must be written as [[{array}]]"))
                tables = []
            parts[attr] = tuple(cls.from_dict(t, name, i, problems) for i, t in enumerate(tables))
    extras = {name: text for name, text in files.items() if name not in RULE_FILES}
    return RuleSet(extras=dict(sorted(extras.items())), **parts), problems


def _scalar(value) -> str:
    """A TOML literal of a string or number, formatted by tomli_w."""
    return tomli_w.dumps({"x": value}).split(" = ", 1)[1].rstrip("\n")


def _key(key: str) -> str:
    return tomli_w.dumps({key: 0}).rsplit(" = ", 1)[0]


def _inline(table: Mapping) -> str:
    if not table:
        return "{}"
    parts = [f"{_key(k)} = {_inline(v) if isinstance(v, Mapping) else _scalar(v)}" for k, v in table.items()]
    return "{ " + ", ".join(parts) + " }"


def _item(array: str, table: Mapping) -> str:
    """One ``[[array]]`` table: scalars one per line, a list of texts on one line, a list of tables
    (test cases, lines) as an array of inline tables, one per line."""
    out = [f"[[{array}]]"]
    for key, value in table.items():
        if isinstance(value, list) and value and isinstance(value[0], Mapping):
            out.append(f"{_key(key)} = [")
            out += [f"    {_inline(entry)}," for entry in value]
            out.append("]")
        elif isinstance(value, list):
            out.append(f"{_key(key)} = [{', '.join(_scalar(v) for v in value)}]")
        else:
            out.append(f"{_key(key)} = {_scalar(value)}")
    return "\n".join(out) + "\n"


def dump_files(ruleset: RuleSet) -> dict[str, str]:
    """The canonical text of every file of the rule set, extras included. Each item is written as an
    ``[[array]]`` table (tomli_w would inline short ones), its values formatted by tomli_w."""
    out: dict[str, str] = {}
    for name, layout in _LAYOUT.items():
        items = [_item(array, item.to_dict()) for array, _, attr in layout for item in getattr(ruleset, attr)]
        out[name] = HEADERS[name] + "\n".join(items)
    for name, text in ruleset.extras.items():
        out[name] = text
    return dict(sorted(out.items()))


def write_dir(ruleset: RuleSet, path: str | Path) -> list[Path]:
    """Write the canonical files into ``path`` (created if needed); returns the files written."""
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in dump_files(ruleset).items():
        target = root / name
        target.write_bytes(text.encode("utf-8"))
        written.append(target)
    return written


def content_hash(ruleset: RuleSet) -> str:
    """SHA-256 of the canonical dump: equal content, equal hash."""
    digest = hashlib.sha256()
    for name, text in dump_files(ruleset).items():
        digest.update(name.encode("utf-8") + b"\0" + text.encode("utf-8") + b"\0")
    return digest.hexdigest()


def load_dir(path: str | Path) -> tuple[RuleSet, list[Problem]]:
    """Read and parse a rules/ directory (shape problems only; see ``RuleSet.check`` for the rest)."""
    files, problems = read_dir(path)
    ruleset, more = parse_files(files)
    return ruleset, problems + more
