"""FormulaError: the one exception the engine raises, with a code, two languages and a position.

Every message lives in ``MESSAGES`` (key → code, Chinese, English), so the two languages stay side by side
and a reviewer sees every sentence a user can meet. ``fail(key, position, **params)`` builds the error.
"""

from __future__ import annotations

CODES = (
    "SYNTAX", "UNKNOWN_NAME", "UNKNOWN_FUNCTION", "FORBIDDEN", "TOO_LONG", "TOO_COMPLEX",
    "NUMBER_TOO_BIG", "DIVIDE_BY_ZERO", "TYPE", "NOT_FINITE", "CYCLE",
)
# Codes that only evaluation raises (the others are found when a formula is compiled).
RUNTIME_CODES = frozenset({"DIVIDE_BY_ZERO", "NUMBER_TOO_BIG", "NOT_FINITE", "TYPE"})

MESSAGES: dict[str, tuple[str, str, str]] = {
    # -- text and syntax ---------------------------------------------------------------------------
    "empty": ("SYNTAX", "公式为空", "The formula is empty"),
    "too_long": ("TOO_LONG", "公式有 {length} 个字符，最多允许 {limit} 个",
                 "The formula has {length} characters; at most {limit} are allowed"),
    "string_too_long": ("TOO_LONG", "文本最多 {limit} 个字符", "A text may have at most {limit} characters"),
    "syntax": ("SYNTAX", "公式写法有误（第 {column} 个字符附近）",
               "The formula is not well formed (near character {column})"),
    "unclosed": ("SYNTAX", "括号“{char}”没有闭合", "The bracket “{char}” is never closed"),
    "unmatched": ("SYNTAX", "多余的“{char}”", "Unmatched “{char}”"),
    "mismatched": ("SYNTAX", "“{char}”与前面的括号不匹配", "“{char}” does not match the bracket before it"),
    "unterminated_string": ("SYNTAX", "文本缺少结束引号", "A text has no closing quote"),
    "bad_number": ("SYNTAX", "数字写法有误（第 {column} 个字符附近）",
                   "A number is malformed (near character {column})"),
    "bad_char": ("SYNTAX", "公式中不能使用字符“{char}”（U+{hex}）",
                 "The character “{char}” (U+{hex}) cannot be used in a formula"),
    "replace_char": ("SYNTAX", "请把“{char}”改为“{replacement}”", "Replace “{char}” with “{replacement}”"),
    "single_equals": ("SYNTAX", "比较是否相等请用 ==（两个等号）", "Use == (two equal signs) to compare"),
    # -- size ----------------------------------------------------------------------------------------
    "too_deep": ("TOO_COMPLEX", "公式嵌套过深（最多 {limit} 层）",
                 "The formula is nested too deeply (at most {limit} levels)"),
    "too_many_nodes": ("TOO_COMPLEX", "公式过于复杂（最多 {limit} 个组成部分）",
                       "The formula is too complex (at most {limit} parts)"),
    "too_complex": ("TOO_COMPLEX", "公式过于复杂，无法处理", "The formula is too complex to process"),
    # -- what is allowed -----------------------------------------------------------------------------
    "forbidden": ("FORBIDDEN", "公式中不能使用{what_zh}", "{what_en} cannot be used in a formula"),
    "underscore": ("FORBIDDEN", "名称不能以下划线开头：“{name}”",
                   "A name cannot start with an underscore: “{name}”"),
    "string_place": ("FORBIDDEN", "文本只能用在 == 或 != 的两边",
                     "A text can only be an operand of == or !="),
    "keyword_arg": ("FORBIDDEN", "函数参数不能写成“名称=值”；比较是否相等请用 ==",
                    "A function argument cannot be written “name=value”; use == to compare"),
    "call_target": ("FORBIDDEN", "只能调用函数库中的函数", "Only the functions of the library can be called"),
    # -- names ---------------------------------------------------------------------------------------
    "unknown_name": ("UNKNOWN_NAME", "未知的名称“{name}”", "Unknown name “{name}”"),
    "unknown_function": ("UNKNOWN_FUNCTION", "未知的函数“{name}”", "Unknown function “{name}”"),
    "not_a_function": ("UNKNOWN_FUNCTION", "“{name}”是变量，不是函数",
                       "“{name}” is a variable, not a function"),
    # -- types and arguments -------------------------------------------------------------------------
    "arity": ("TYPE", "{function} 需要 {expected} 个参数，实际是 {got} 个",
              "{function} takes {expected} arguments, not {got}"),
    "tag_word": ("TYPE", "{function} 的参数必须是带引号的文本，例如 {function}(\"新技术\")",
                 "The argument of {function} must be a quoted word, e.g. {function}(\"新技术\")"),
    "text_variable": ("TYPE", "文本“{name}”只能用 == 或 != 比较",
                      "The text “{name}” can only be compared with == or !="),
    "number_vs_text": ("TYPE", "数值“{name}”不能与文本比较",
                       "The number “{name}” cannot be compared with a text"),
    "increasing": ("TYPE", "{function} 的分段点必须严格递增",
                   "The breakpoints of {function} must strictly increase"),
    "text_value": ("TYPE", "“{name}”的值是文本，不能参与计算",
                   "The value of “{name}” is a text and cannot be used in arithmetic"),
    "bad_value": ("TYPE", "“{name}”的值类型（{type}）不受支持",
                  "The value of “{name}” has an unsupported type ({type})"),
    "bad_tag_count": ("TYPE", "标签“{name}”的数量必须是数字",
                      "The count of the tag “{name}” must be a number"),
    "result_text": ("TYPE", "公式的结果必须是数值，不能是文本", "A formula must give a number, not a text"),
    "bad_type": ("TYPE", "运算的数据类型不正确", "An operation got a value of the wrong type"),
    # -- numbers -------------------------------------------------------------------------------------
    "literal_too_big": ("NUMBER_TOO_BIG", "数字 {text} 超出允许范围（±{limit}）",
                        "The number {text} is outside the allowed range (±{limit})"),
    "input_too_big": ("NUMBER_TOO_BIG", "“{name}”的值超出允许范围（±{limit}）",
                      "The value of “{name}” is outside the allowed range (±{limit})"),
    "result_too_big": ("NUMBER_TOO_BIG", "计算结果超出允许范围（±{limit}）",
                       "A result is outside the allowed range (±{limit})"),
    "divide_by_zero": ("DIVIDE_BY_ZERO", "除数为 0", "Division by zero"),
    "not_real": ("NOT_FINITE", "负数的非整数次方不是实数",
                 "A negative number to a fractional power is not a real number"),
    "input_not_finite": ("NOT_FINITE", "“{name}”的值不是有限的数",
                         "The value of “{name}” is not a finite number"),
    "not_finite": ("NOT_FINITE", "计算结果不是有限的数", "A result is not a finite number"),
    # -- graphs --------------------------------------------------------------------------------------
    "cycle": ("CYCLE", "公式循环引用：{members_text}",
              "The formulas refer to each other in a cycle: {members_text}"),
}

# What the user wrote that is not allowed, in both languages (for the "forbidden" message).
FORBIDDEN_WHAT: dict[str, tuple[str, str]] = {
    "Attribute": ("属性访问（.）", "Attribute access (.)"),
    "Subscript": ("下标（[ ]）", "Subscripts ([ ])"),
    "Lambda": ("lambda", "lambda"),
    "comprehension": ("推导式", "Comprehensions"),
    "JoinedStr": ("格式化文本（f\"…\"）", "f-strings"),
    "NamedExpr": ("赋值（:=）", "Assignment (:=)"),
    "Starred": ("展开参数（*）", "Starred arguments (*)"),
    "container": ("列表、元组、字典或集合", "Lists, tuples, dicts and sets"),
    "Await": ("await", "await"),
    "Yield": ("yield", "yield"),
    "Slice": ("切片", "Slices"),
    "bytes": ("字节串", "Byte strings"),
    "complex": ("复数", "Complex numbers"),
    "None": ("None", "None"),
    "Ellipsis": ("省略号（...）", "The ellipsis (...)"),
    "operator": ("运算符“{op}”", "The operator “{op}”"),
}


class FormulaError(Exception):
    """A problem of one formula: ``code`` (see CODES), a message in Chinese and English, the 0-based
    character ``position`` in the formula text (None when unknown), up to three ``suggestions`` for an
    unknown name, and for CYCLE the ``members`` of the cycle."""

    def __init__(self, code: str, message_zh: str, message_en: str, position: int | None = None,
                 suggestions: tuple[str, ...] | list[str] = (), members: tuple[str, ...] | list[str] = ()):
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.position = position
        self.suggestions = list(suggestions)[:3]
        self.members = list(members)

    def message(self, locale: str | None = "zh_CN") -> str:
        """The message in ``locale`` ("zh_CN", "zh", "en", …); Chinese unless English is asked for."""
        return self.message_en if (locale or "").lower().startswith("en") else self.message_zh

    def to_dict(self, locale: str | None = "zh_CN") -> dict:
        """The JSON shape of the API: {"code", "message", "position", "suggestions"} (+ "members")."""
        out = {"code": self.code, "message": self.message(locale), "position": self.position,
               "suggestions": list(self.suggestions)}
        if self.members:
            out["members"] = list(self.members)
        return out

    def at(self, position: int | None) -> FormulaError:
        """This error with a position, when it has none yet (inner helpers do not know where they are)."""
        if self.position is None and position is not None:
            self.position = position
        return self

    def __reduce__(self):  # keep the fields when pickled (e.g. across worker processes)
        return (FormulaError, (self.code, self.message_zh, self.message_en, self.position,
                               self.suggestions, self.members))


def fail(key: str, position: int | None = None, suggestions=(), members=(), **params) -> FormulaError:
    """The FormulaError of message ``key`` with its parameters filled in (raise it)."""
    code, zh, en = MESSAGES[key]
    zh, en = zh.format(**params), en.format(**params)
    if suggestions:
        zh += "。您是不是要找：" + "、".join(suggestions) + "？"
        en += ". Did you mean: " + ", ".join(suggestions) + "?"
    return FormulaError(code, zh, en, position, suggestions, members)


def forbidden(what: str, position: int | None = None, **params) -> FormulaError:
    """A FORBIDDEN error naming the construct (a key of FORBIDDEN_WHAT)."""
    zh, en = FORBIDDEN_WHAT[what]
    return fail("forbidden", position, what_zh=zh.format(**params), what_en=en.format(**params))
