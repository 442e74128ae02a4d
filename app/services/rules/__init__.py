"""Rule sets in the database: load a rules/ directory, publish, export, edit drafts, what-if.

The only place that combines rule rows, the pure ``app.rules`` package and the metrics. Every
function that changes something is one transaction: it commits at its end or rolls back and raises.

* ``load_dir`` is idempotent: the canonical export is hashed, and content already published makes no
  new version (an older version with that content becomes current again);
* a published version never changes (``PublishedVersionLocked``); editing starts a new draft;
* ``ruleset_for_version`` keeps parsed rule sets by id and content hash (a draft's: the digest of its rows);
  a published version known to the process costs no statement.

``store`` reads and writes versions, ``files`` checks, loads and exports directories, ``drafts`` edits
and publishes a draft, ``rows`` validates one row, ``policy`` edits a draft's policy.toml (``policy_diff``
shows its changes), ``previews`` and ``whatif`` run a rule set on real data.
"""

from ...rules import diff_rulesets, has_errors
from .changes import readable_changes
from .drafts import (
    DISCARD_KEEP_DAYS,
    PublishResult,
    diff_against,
    discard_draft,
    discarded_drafts,
    draft_or_raise,
    new_draft,
    publish,
    publish_preview,
    replace_grades,
    restore_draft,
    restore_until,
)
from .errors import NoRuleSet, NotADraft, RuleRefused, RuleSetInvalid, WhatIfError
from .files import (
    LoadResult,
    check_dir,
    check_ruleset,
    export_files,
    export_version,
    export_zip,
    load_dir,
    problem_lines,
    workflow_problems,
)
from .policy import (
    canonical_policy_text,
    document_from_json,
    policy_document,
    policy_errors,
    policy_form,
    policy_text,
    read_policy_form,
    save_policy,
)
from .policy_diff import policy_changes
from .previews import employee_variables, preview_indicator, preview_station, weight_table
from .rows import (
    delete_row,
    ensure_deletable,
    save_indicator,
    save_row,
    save_swot_item,
    save_template,
    validate_row,
    weight_warnings,
)
from .store import (
    current_version,
    grade_dict,
    indicator_dict,
    outcome_dict,
    published_ruleset,
    ruleset_and_hash,
    ruleset_for_version,
    ruleset_from_version,
    station_codes,
    swot_dict,
    template_dict,
    version_document,
    versions,
)
from .whatif import cycle_names, whatif

__all__ = [
    "DISCARD_KEEP_DAYS", "LoadResult", "NoRuleSet", "NotADraft", "PublishResult", "RuleRefused",
    "RuleSetInvalid", "WhatIfError", "canonical_policy_text", "check_dir", "check_ruleset",
    "current_version", "cycle_names", "delete_row", "diff_against", "diff_rulesets", "discard_draft",
    "discarded_drafts", "document_from_json", "draft_or_raise", "employee_variables", "ensure_deletable",
    "export_files", "export_version", "export_zip", "grade_dict", "has_errors", "indicator_dict",
    "load_dir", "new_draft", "outcome_dict", "policy_changes", "policy_document", "policy_errors",
    "policy_form", "policy_text", "preview_indicator", "preview_station", "problem_lines", "publish",
    "publish_preview", "published_ruleset", "read_policy_form", "readable_changes", "replace_grades",
    "restore_draft", "restore_until", "ruleset_and_hash", "ruleset_for_version", "ruleset_from_version",
    "save_indicator", "save_policy", "save_row", "save_swot_item", "save_template", "station_codes",
    "swot_dict", "template_dict", "validate_row", "version_document", "versions", "weight_table",
    "weight_warnings", "whatif", "workflow_problems",
]
