"""Rule sets as pure data: parse, check, dump, diff and appraise. No Flask, no SQLAlchemy.

``from app.rules import RuleSet, EmployeeFacts, load_dir, check …``: see README.md in this folder.
"""

from .appraise import AppraisalResult, EmployeeFacts, indicators_needed, line_weight
from .diff import diff_rulesets
from .evaluate import IndicatorEval, evaluate_indicator, run_test
from .incentive import Incentive, IncentiveTest
from .items import GradeBand, Indicator, Line, OutcomeRule, SwotItem, Template, TestCase
from .model import (
    ACTIONS,
    CATEGORIES,
    DIRECTIONS,
    KINDS,
    POLICY_FILE,
    RULE_FILES,
    SEGMENTS,
    SWOT_KINDS,
    WORKFLOW_FILE,
    Problem,
    has_errors,
)
from .policy import Breach, DistributionPolicy, GradeLimit, breaches
from .ruleset import RuleSet
from .toml_io import content_hash, dump_files, load_dir, parse_files, read_dir, write_dir

__all__ = [
    "ACTIONS", "CATEGORIES", "DIRECTIONS", "KINDS", "POLICY_FILE", "RULE_FILES", "SEGMENTS", "SWOT_KINDS",
    "WORKFLOW_FILE", "AppraisalResult", "Breach", "DistributionPolicy", "EmployeeFacts", "GradeBand",
    "GradeLimit", "Incentive", "IncentiveTest", "Indicator", "IndicatorEval", "Line", "OutcomeRule",
    "Problem", "RuleSet", "SwotItem", "Template", "TestCase", "breaches", "content_hash", "diff_rulesets",
    "dump_files", "evaluate_indicator", "has_errors", "indicators_needed", "line_weight", "load_dir",
    "parse_files", "read_dir", "run_test", "write_dir",
]
