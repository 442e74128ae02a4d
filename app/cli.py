"""The ``flask --app run …`` commands. Each command calls a service; no logic lives here."""

from __future__ import annotations

import dataclasses
import json

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from . import sync_permissions
from .clock import local_iso
from .demo import DemoExists, seed_demo
from .exports import cycle_workbook
from .extensions import db
from .importing import ImportRejected, import_file
from .locales import default_locale
from .models import Cycle, RuleSetVersion
from .rules import has_errors
from .rules.pools import money_text
from .scoping import Scope
from .services.caller import SYSTEM_CALLER
from .services.compute import CycleError, compute_cycle
from .services.cycles import create_cycle, state_counts
from .services.errors import ServiceError, message_of
from .services.pdf_export import count_appraisals, export_cycle
from .services.progress import ProgressRecorder
from .services.publication import publish
from .services.rules import (
    NoRuleSet,
    RuleSetInvalid,
    WhatIfError,
    check_dir,
    export_version,
    load_dir,
    whatif,
)
from .services.signoff import walk_chain
from .setup import prepare
from .workflow import Refusal


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Seed the demo organisation and data into an empty database."""
    sync_permissions(current_app)
    try:
        summary = seed_demo()
    except DemoExists as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(summary)


@click.command("setup")
def setup_command() -> None:
    """Migrate the database, sync roles and permissions, and seed the demo when empty."""
    prepare(current_app._get_current_object())


def register_cli(app: Flask) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(setup_command)
    app.cli.add_command(rules_group)
    app.cli.add_command(cycle_group)
    app.cli.add_command(pdf_group)
    app.cli.add_command(audit_group)
    app.cli.add_command(import_command)


# --- rules -----------------------------------------------------------------------------------------

rules_group = click.Group("rules", help="Check, load, export and try out rule sets (rules/ TOML).")


def _default_rules_dir() -> str:
    return str(current_app.config["JIXIAO_RULES_DIR"])


def _print_problems(problems, *, err: bool = True) -> None:
    for problem in problems:
        level = "ERROR" if problem.is_error else "warning"
        click.echo(f"{level} {problem.render(current_app.config.get('BABEL_DEFAULT_LOCALE'))}", err=err)


@rules_group.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@with_appcontext
def rules_check_command(directory: str | None) -> None:
    """Validate every formula, reference, weight, grade and test case of DIR (default rules/)."""
    directory = directory or _default_rules_dir()
    ruleset, problems = check_dir(directory, db.session)
    _print_problems(problems)
    if has_errors(problems):
        errors = sum(p.is_error for p in problems)
        raise click.ClickException(f"{directory}: {errors} error(s)")
    click.echo(f"{directory}: OK ({len(ruleset.indicators)} indicators, {len(ruleset.templates)} templates, "
               f"{len(ruleset.swot)} SWOT items, {sum(len(i.tests) for i in ruleset.indicators)} test cases)")
    click.echo(_policy_summary(ruleset))


def _policy_summary(ruleset) -> str:
    """One line on policy.toml: the distribution limits and the incentive (formula, cap, pools, tests)."""
    policy, incentive = ruleset.policy, ruleset.incentive
    if policy is None and incentive is None:
        return "policy.toml: none (no distribution limits, no incentive amounts)"
    parts = ["no distribution limits" if policy is None or not policy.limits else
             f"{len(policy.limits)} distribution limit(s) (stations from {policy.min_headcount} people)"]
    if incentive is None:
        parts.append("no incentive amounts")
    else:
        cap = f", cap {money_text(incentive.cap)}" if incentive.cap is not None else ", no cap"
        parts.append(f"incentive amount = {incentive.formula_text}{cap}, "
                     f"{len(incentive.pools)} station pool(s), {len(incentive.tests)} incentive test case(s)")
    return "policy.toml: " + "; ".join(parts)


@rules_group.command("load")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@with_appcontext
def rules_load_command(directory: str | None) -> None:
    """Load DIR (default rules/) and publish it; the same content again makes no new version."""
    directory = directory or _default_rules_dir()
    try:
        result = load_dir(db.session, directory, user="cli")
    except RuleSetInvalid as exc:
        _print_problems(exc.problems)
        raise click.ClickException(f"{directory}: refused, nothing was loaded") from exc
    _print_problems(result.problems)
    version = result.version
    if result.created:
        click.echo(f"Loaded and published rule set v{version.number} ({version.content_hash[:12]}).")
    else:
        again = " It is the current version again." if result.reactivated else ""
        click.echo(f"Unchanged: the content is rule set v{version.number} ({version.content_hash[:12]}); "
                   f"no new version.{again}")


@rules_group.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--version", "number", type=int, default=None,
              help="Version number (default: the current one).")
@with_appcontext
def rules_export_command(directory: str, number: int | None) -> None:
    """Write the current (or --version N) rule set into DIR as TOML files."""
    version_id = None
    if number is not None:
        version_id = db.session.scalar(select(RuleSetVersion.id).where(RuleSetVersion.number == number))
        if version_id is None:
            raise click.ClickException(f"no rule set version {number}")
    try:
        files = export_version(db.session, directory, version_id)
    except NoRuleSet as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Wrote {len(files)} files to {directory}.")


@rules_group.command("whatif")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--cycle", "cycle_name", required=True, help="Name of a computed cycle.")
@with_appcontext
def rules_whatif_command(directory: str, cycle_name: str) -> None:
    """Rescore a past cycle with the rule set in DIR; print one JSON object; change nothing."""
    try:
        result = whatif(db.session, directory, cycle_name)
    except RuleSetInvalid as exc:
        _print_problems(exc.problems)
        raise click.ClickException(f"{directory}: the rule set has errors") from exc
    except WhatIfError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        db.session.rollback()
    click.echo(json.dumps(result, ensure_ascii=False, sort_keys=True))


# --- cycles ----------------------------------------------------------------------------------------

cycle_group = click.Group("cycle", help="Create and compute appraisal cycles.")


class _ComputeBar:
    """click progress bar over the employees scored; the stages before and after as lines on stderr."""
    def __init__(self) -> None:
        self.bar = None
        self.done = 0
        self.stage = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage == "appraise":
            if self.bar is None:
                self.bar = click.progressbar(length=max(total, 1), label="appraise",
                                             file=click.get_text_stream("stderr"))
                self.bar.__enter__()
            self.bar.update(done - self.done)
            self.done = done
            return
        if self.bar is not None and stage != "appraise":
            self.close()
        if stage != self.stage:
            self.stage = stage
            click.echo(f"{stage} …", err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _compute(cycle, rebind: bool = False) -> None:
    bar = _ComputeBar()
    recorder = ProgressRecorder(db.engine, cycle.id, echo=bar)
    try:
        result = compute_cycle(db.session, cycle, recorder, rebind=rebind)
    except CycleError as exc:
        recorder.write(stage=None, error=exc.message)
        raise click.ClickException(exc.message) from exc
    except BaseException:
        recorder.write(stage=None)
        raise
    finally:
        bar.close()
    summary = result.to_dict()
    click.echo(f"{cycle.name}: {summary['created']} created, {summary['updated']} changed, "
               f"{summary['unchanged']} unchanged, {summary['locked']} locked, "
               f"{len(summary['skipped'])} without a template ({summary['seconds']} s)")
    for change in result.changed[:50]:
        click.echo(f"  {change.employee_no} {change.employee_name}: "
                   f"{change.old_total} → {change.new_total} ({change.old_grade} → {change.new_grade})")


@cycle_group.command("create")
@click.option("--name", required=True, help="Unique name, e.g. 2024Q3.")
@click.option("--start", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--end", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--stations", default="", help="Station codes separated by commas (default: all).")
@click.option("--compute", "compute_now", is_flag=True, help="Compute it at once.")
@with_appcontext
def cycle_create_command(name, start, end, stations, compute_now) -> None:
    """Create an appraisal cycle over a period (dates inclusive)."""
    codes = [code.strip() for code in stations.split(",") if code.strip()]
    try:
        cycle = create_cycle(db.session, name, start.date(), end.date(), codes)
    except CycleError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Cycle {cycle.name} ({cycle.start} – {cycle.end}) created, id {cycle.id}.")
    if compute_now:
        _compute(cycle)


@cycle_group.command("compute")
@click.argument("name")
@click.option("--rebind", is_flag=True, help="Bind the rule-set version published now.")
@with_appcontext
def cycle_compute_command(name, rebind) -> None:
    """Compute (or recompute) the cycle NAME; approved and later appraisals stay locked."""
    cycle = db.session.scalar(select(Cycle).where(Cycle.name == name))
    if cycle is None:
        raise click.ClickException(f"No cycle named {name!r}.")
    _compute(cycle, rebind)


@cycle_group.command("publish")
@click.argument("name")
@click.option("--override-reason", default=None, help="Why the results are published although the "
              "rule set's distribution policy is breached (kept with the cycle and in every trail).")
@with_appcontext
def cycle_publish_command(name: str, override_reason: str | None) -> None:
    """Publish the results of cycle NAME: employees see their approved results from now on."""
    cycle = db.session.scalar(select(Cycle).where(Cycle.name == name))
    if cycle is None:
        raise click.ClickException(f"No cycle named {name!r}.")
    locale = current_app.config.get("BABEL_DEFAULT_LOCALE")
    caller = dataclasses.replace(SYSTEM_CALLER, locale=locale or "zh_CN")
    try:
        published = publish(db.session, cycle.id, caller, override_reason)
    except (ServiceError, Refusal) as exc:
        raise click.ClickException(message_of(exc, locale)) from exc
    click.echo(f"Cycle {cycle.name} published at {local_iso(published.published_at)}.")


@cycle_group.command("list")
@with_appcontext
def cycle_list_command() -> None:
    """The cycles and their appraisals per state."""
    for cycle in db.session.scalars(select(Cycle).order_by(Cycle.start)):
        counts = ", ".join(f"{k} {v}" for k, v in sorted(state_counts(db.session, cycle.id).items()))
        click.echo(f"{cycle.name}\t{cycle.start} – {cycle.end}\t{cycle.status.value}\t{counts}")


@cycle_group.command("export")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option("--locale", default=None, help="zh_CN or en (default: the configured one).")
@with_appcontext
def cycle_export_command(name: str, file: str, locale: str | None) -> None:
    """Write cycle NAME as an Excel workbook into FILE (results, payroll, distribution; every station)."""
    cycle = db.session.scalar(select(Cycle).where(Cycle.name == name))
    if cycle is None:
        raise click.ClickException(f"No cycle named {name!r}.")
    count = cycle_workbook(db.session, cycle, Scope(everything=True), locale or default_locale(), file)
    click.echo(f"{file}: {count} appraisals of cycle {name}.")


# --- import ----------------------------------------------------------------------------------------

@click.command("import")
@click.argument("kind", type=click.Choice(["work-orders", "surveys", "costs", "employees"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--update", is_flag=True, help="Replace records whose key exists already.")
@with_appcontext
def import_command(kind: str, file: str, update: bool) -> None:
    """Import FILE (CSV in UTF-8 or GBK, or .xlsx) as KIND, whole or not at all."""
    stderr = click.get_text_stream("stderr")
    with click.progressbar(length=1, label=kind, file=stderr) as bar:
        seen = [0]

        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(max(done - seen[0], 0))
            seen[0] = done

        try:
            result = import_file(db.session, kind, file, update=update, progress=progress)
        except ImportRejected as exc:
            errors = exc.errors
        else:
            errors = None
    if errors is not None:
        click.echo("row\tcolumn\tmessage", err=True)
        for e in errors:
            row = "" if e["row"] is None else e["row"]
            click.echo(f"{row}\t{e['column'] or ''}\t{e['message']}", err=True)
        raise click.ClickException(
            f"{file}: refused, nothing was imported ({len(errors)} problem(s) listed).")
    click.echo(f"{file}: {result.inserted} inserted, {result.updated} updated.")
    if result.accounts:
        click.echo("New accounts (the passwords are shown only this once):")
        for account in result.accounts:
            click.echo(f"  {account['employee_no']}\t{account['username']}\t{account['password']}")


# --- PDF export and the sign-off chain -----------------------------------------------------------

pdf_group = click.Group("pdf", help="Appraisal PDFs.")


@pdf_group.command("export")
@click.argument("name")
@click.argument("zipfile", type=click.Path(dir_okay=False, writable=True))
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes (default: every core).")
@click.option("--locale", default=None, help="zh_CN or en (default: the configured one).")
@with_appcontext
def pdf_export_command(name: str, zipfile: str, workers: int | None, locale: str | None) -> None:
    """Write the PDFs of cycle NAME into ZIPFILE, rendered on all cores; signed ones as stored."""
    cycle = db.session.scalar(select(Cycle).where(Cycle.name == name))
    if cycle is None:
        raise click.ClickException(f"No cycle named {name!r}.")
    total = count_appraisals(db.session, cycle)
    with click.progressbar(length=max(total, 1), label=name, file=click.get_text_stream("stderr")) as bar:
        seen = [0]

        def progress(done: int, _total: int) -> None:
            bar.update(done - seen[0])
            seen[0] = done

        count = export_cycle(db.session, cycle, zipfile, workers=workers, progress=progress, locale=locale)
    click.echo(f"{zipfile}: {count} PDFs of cycle {name}.")


audit_group = click.Group("audit", help="Check the sign-off records.")


@audit_group.command("verify-chain")
@with_appcontext
def audit_verify_chain_command() -> None:
    """Walk the sign-off hash chain; exit non-zero naming the first broken record."""
    report = walk_chain(db.session)
    if report.broken is not None:
        raise click.ClickException(f"the sign-off chain is broken at {report.broken}")
    click.echo(f"The sign-off chain is intact: {report.records} records.")
