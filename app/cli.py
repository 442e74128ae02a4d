"""The ``flask --app run …`` commands (SPEC §9). Each command calls a service; no logic lives here."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Seed the demo organisation and data into an empty database."""
    from . import sync_permissions
    from .demo import DemoExists, seed_demo

    sync_permissions(current_app)
    try:
        summary = seed_demo()
    except DemoExists as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(summary)


@click.command("setup")
def setup_command() -> None:
    """Migrate the database, sync roles and permissions, and seed the demo when empty."""
    from .setup import prepare

    prepare(current_app._get_current_object())


def register_cli(app: Flask) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(setup_command)
    app.cli.add_command(rules_group)  # issue 6


# --- rules (issue 6) -------------------------------------------------------------------------------

rules_group = click.Group("rules", help="Check, load, export and try out rule sets (rules/ TOML).")


def _default_rules_dir() -> str:
    from . import ROOT

    return str(ROOT / "rules")


def _print_problems(problems, *, err: bool = True) -> None:
    for problem in problems:
        level = "ERROR" if problem.is_error else "warning"
        click.echo(f"{level} {problem.render(current_app.config.get('BABEL_DEFAULT_LOCALE'))}", err=err)


@rules_group.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@with_appcontext
def rules_check_command(directory: str | None) -> None:
    """Validate every formula, reference, weight, grade and test case of DIR (default rules/)."""
    from .extensions import db
    from .rules import has_errors
    from .services.rules import check_dir

    directory = directory or _default_rules_dir()
    ruleset, problems = check_dir(directory, db.session)
    _print_problems(problems)
    if has_errors(problems):
        errors = sum(p.is_error for p in problems)
        raise click.ClickException(f"{directory}: {errors} error(s)")
    click.echo(f"{directory}: OK ({len(ruleset.indicators)} indicators, {len(ruleset.templates)} templates, "
               f"{len(ruleset.swot)} SWOT items, {sum(len(i.tests) for i in ruleset.indicators)} test cases)")


@rules_group.command("load")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@with_appcontext
def rules_load_command(directory: str | None) -> None:
    """Load DIR (default rules/) and publish it; the same content again makes no new version."""
    from .extensions import db
    from .services.rules import RuleSetInvalid, load_dir

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
@click.option("--version", "number", type=int, default=None, help="Version number (default: the current one).")
@with_appcontext
def rules_export_command(directory: str, number: int | None) -> None:
    """Write the current (or --version N) rule set into DIR as TOML files."""
    from sqlalchemy import select

    from .extensions import db
    from .models import RuleSetVersion
    from .services.rules import NoRuleSet, export_version

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
    import json

    from .extensions import db
    from .services.rules import RuleSetInvalid, WhatIfError, whatif

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
