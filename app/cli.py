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
