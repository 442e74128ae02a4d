"""An install that never ran ``make catalogs`` still speaks Chinese: the server compiles the catalogs it
lacks at start-up (app/catalogs.py), into the instance folder when the package's folder is read-only."""

from __future__ import annotations

import os
import shutil

import pytest

from app import ROOT
from tests.factories import make_app

SOURCE = ROOT / "app" / "translations"


@pytest.fixture
def uncompiled(tmp_path):
    """A copy of the catalogs with only their ``.po`` files."""
    target = tmp_path / "translations"
    shutil.copytree(SOURCE, target, ignore=shutil.ignore_patterns("*.mo", "*.tsv", "areas"))
    assert not list(target.rglob("*.mo"))
    return target


def login_page(url: str, folder, instance, monkeypatch) -> str:
    monkeypatch.setattr("config.INSTANCE_DIR", instance)
    app = make_app(url, BABEL_TRANSLATION_DIRECTORIES=str(folder), BABEL_DEFAULT_LOCALE="zh_CN")
    return app.test_client().get("/login/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)


def test_missing_catalogs_are_compiled_at_start_up(database_url, uncompiled, tmp_path, monkeypatch):
    html = login_page(database_url, uncompiled, tmp_path / "instance", monkeypatch)
    assert (uncompiled / "zh" / "LC_MESSAGES" / "messages.mo").is_file()
    assert "登录" in html


def test_a_read_only_install_gets_its_catalogs_in_the_instance_folder(database_url, uncompiled, tmp_path,
                                                                       monkeypatch):
    from app import catalogs

    write = catalogs.compile_catalog

    def read_only(po, mo):
        if uncompiled in mo.parents:
            raise PermissionError(13, "Permission denied", str(mo))
        write(po, mo)

    monkeypatch.setattr(catalogs, "compile_catalog", read_only)
    html = login_page(database_url, uncompiled, tmp_path / "instance", monkeypatch)
    assert not list(uncompiled.rglob("*.mo"))
    assert (tmp_path / "instance" / "translations" / "zh" / "LC_MESSAGES" / "messages.mo").is_file()
    assert "登录" in html


def test_a_stale_catalog_is_compiled_again(uncompiled, tmp_path):
    from app.catalogs import ensure_compiled

    assert ensure_compiled(uncompiled, tmp_path / "fallback") == [uncompiled]
    mo = uncompiled / "zh" / "LC_MESSAGES" / "messages.mo"
    older = mo.with_suffix(".po").stat().st_mtime_ns - 10**10  # the .po was edited after the compile
    os.utime(mo, ns=(older, older))
    ensure_compiled(uncompiled, tmp_path / "fallback")
    assert mo.stat().st_mtime_ns > older
    untouched = mo.stat().st_mtime_ns
    ensure_compiled(uncompiled, tmp_path / "fallback")
    assert mo.stat().st_mtime_ns == untouched
