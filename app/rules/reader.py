"""Field-by-field validation of one TOML table: read a key, record a Problem for anything wrong."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Expr, Problem, norm_expr, norm_number

MAX_TEXT = 5000  # characters of one text field

# What a key of the TOML files is, for Chinese messages (the editor's fields carry these names).
KEY_NAMES_ZH = {
    "action": "动作", "category": "类别", "code": "代码", "coefficient": "系数", "description": "说明",
    "direction": "方向", "grade": "等级", "indicator": "指标", "inputs": "输入", "kind": "类型",
    "label": "名称", "label_en": "英文名称", "line": "指标行", "min": "下限", "name": "名称",
    "name_en": "英文名称", "note": "备注", "positions": "适用岗位", "score": "得分公式",
    "segments": "客户类型",
    "station": "服务站", "stations": "服务站", "tags": "标签", "target": "目标值", "test": "测试用例",
    "title": "标题", "unit": "单位", "value": "取值公式", "weight": "权重", "when": "条件", "year": "年份",
}


class Reader:
    """Reads one table, recording problems against ``file`` / ``item``."""

    def __init__(self, table: Any, file: str, item: str, problems: list[Problem]) -> None:
        self.table = table if isinstance(table, Mapping) else {}
        self.file, self.item, self.problems = file, item, problems
        if not isinstance(table, Mapping):
            self.problem("", "BAD_VALUE", "应为一个表（[[…]]）", "must be a table ([[…]])")

    def problem(self, fieldname: str, code: str, zh: str, en: str) -> None:
        self.problems.append(Problem(self.file, self.item, fieldname, code, zh, en))

    def unknown_keys(self, known: set[str]) -> None:
        for key in self.table:
            if key not in known:
                self.problem(str(key), "UNKNOWN_KEY", f"未知的键“{key}”（拼写错误？）",
                             f"unknown key “{key}” (a typo?)")

    def _missing(self, key: str) -> None:
        meaning = KEY_NAMES_ZH.get(key)
        shown = f"“{key}”（{meaning}）" if meaning else f"“{key}”"
        self.problem(key, "MISSING", f"缺少必填项{shown}", f"the required key “{key}” is missing")

    def text(self, key: str, *, required: bool = False, choices: tuple = (), default: str = "",
             max_len: int = MAX_TEXT) -> str:
        value = self.table.get(key)
        if value is None:
            if required:
                self._missing(key)
            return default
        if not isinstance(value, str):
            self.problem(key, "BAD_VALUE", f"“{key}”应为文本", f"“{key}” must be text")
            return default
        value = value.strip()
        if required and not value:
            self._missing(key)
        if len(value) > max_len:
            self.problem(key, "TOO_LONG", f"“{key}”过长（最多 {max_len} 个字符）",
                         f"“{key}” is too long (at most {max_len} characters)")
        if choices and value and value not in choices:
            allowed = " / ".join(choices)
            self.problem(key, "BAD_VALUE", f"“{key}”只能是 {allowed}，而不是“{value}”",
                         f"“{key}” must be one of {allowed}, not “{value}”")
        return value

    def expr(self, key: str, *, required: bool = False) -> Expr:
        value = self.table.get(key)
        if value is None:
            if required:
                self._missing(key)
            return ""
        expr = norm_expr(value)
        if expr is None:
            self.problem(key, "BAD_VALUE", f"“{key}”应为数字或公式文本",
                         f"“{key}” must be a number or formula text")
            return ""
        if required and expr == "":
            self._missing(key)
        return expr

    def number(self, key: str, *, required: bool = False) -> int | float:
        value = self.table.get(key)
        if value is None:
            if required:
                self._missing(key)
            return 0
        number = norm_number(value)
        if number is None:
            self.problem(key, "BAD_VALUE", f"“{key}”应为数字", f"“{key}” must be a number")
            return 0
        return number

    def integer(self, key: str, *, required: bool = False) -> int:
        value = self.table.get(key)
        if value is None:
            if required:
                self._missing(key)
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) < value < 2**31:
            self.problem(key, "BAD_VALUE", f"“{key}”应为整数", f"“{key}” must be a whole number")
            return 0
        return value

    def texts(self, key: str, *, choices: tuple = ()) -> tuple[str, ...]:
        value = self.table.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(key, "BAD_VALUE", f"“{key}”应为文本列表，如 [\"维修技师\"]",
                         f"“{key}” must be a list of texts, e.g. [\"technician\"]")
            return ()
        items = tuple(v.strip() for v in value)
        for v in items:
            if choices and v not in choices:
                allowed = " / ".join(choices)
                self.problem(key, "BAD_VALUE", f"“{key}”只能包含 {allowed}，而不是“{v}”",
                             f"“{key}” may only hold {allowed}, not “{v}”")
        return items

    def tables(self, key: str) -> list:
        value = self.table.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(key, "BAD_VALUE", f"“{key}”应为列表", f"“{key}” must be a list")
            return []
        return value


def compact(pairs: list[tuple[str, Any]], required: set[str]) -> dict:
    """The canonical table: fixed key order, empty optional values left out."""
    return {k: v for k, v in pairs if k in required or v not in ("", (), [], {}, None)}


