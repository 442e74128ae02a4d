"""The formula language: parse, validate, compile, evaluate, explain, order by dependency.

Pure Python (see README.md): no Flask, no SQLAlchemy. Everything a caller needs is imported from here::

    from app.engine import builtin_catalogue, compile_formula, FormulaError
    formula = compile_formula("一次修复率 * 100", builtin_catalogue())
    formula.evaluate({"first_fix_rate": 0.92})          # 92.0
    formula.describe({"first_fix_rate": 0.92})          # '一次修复率 0.92 × 100 = 92'
"""

from .catalogue import BUILTIN_VARIABLES, Catalogue, Variable, builtin_catalogue
from .errors import CODES, RUNTIME_CODES, FormulaError
from .explain import TraceStep, format_value
from .formula import Formula, compile_formula, safe_evaluate
from .functions import FUNCTIONS, FunctionInfo, palette
from .graph import dependency_order
from .limits import MAX_DEPTH, MAX_LENGTH, MAX_MAGNITUDE, MAX_NODES
from .payload import catalogue_payload, check_expression

__all__ = [
    "BUILTIN_VARIABLES", "CODES", "Catalogue", "FUNCTIONS", "Formula", "FormulaError", "FunctionInfo",
    "MAX_DEPTH", "MAX_LENGTH", "MAX_MAGNITUDE", "MAX_NODES", "RUNTIME_CODES", "TraceStep", "Variable",
    "builtin_catalogue", "catalogue_payload", "check_expression", "compile_formula", "dependency_order",
    "format_value", "palette", "safe_evaluate",
]
