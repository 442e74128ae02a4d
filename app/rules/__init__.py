"""Rule sets as pure data (SPEC §5): parse, check, dump and appraise. No Flask, no SQLAlchemy.

``from app.rules import RuleSet, EmployeeFacts, load_dir, check …``: see README.md in this folder.
"""

from .appraise import AppraisalResult, EmployeeFacts
from .evaluate import IndicatorEval, evaluate_indicator, run_test
from .model import (
    ACTIONS,
    CATEGORIES,
    DIRECTIONS,
    KINDS,
    RULE_FILES,
    SEGMENTS,
    SWOT_KINDS,
    GradeBand,
    Indicator,
    Line,
    OutcomeRule,
    Problem,
    SwotItem,
    Template,
    TestCase,
    has_errors,
)
from .ruleset import RuleSet
from .toml_io import content_hash, dump_files, load_dir, parse_files, read_dir, write_dir

__all__ = [
    "ACTIONS", "CATEGORIES", "DIRECTIONS", "KINDS", "RULE_FILES", "SEGMENTS", "SWOT_KINDS",
    "AppraisalResult", "EmployeeFacts", "GradeBand", "Indicator", "IndicatorEval", "Line", "OutcomeRule",
    "Problem", "RuleSet", "SwotItem", "Template", "TestCase", "content_hash", "dump_files",
    "evaluate_indicator", "has_errors", "load_dir", "parse_files", "read_dir", "run_test", "write_dir",
]
