"""The catalogs are complete: every string the app shows has Chinese, and pages come out in it."""

import importlib.util
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]


def load_i18n():
    spec = importlib.util.spec_from_file_location("i18n", ROOT / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_msgid_has_chinese():
    gaps = load_i18n().missing()
    assert not gaps, "strings without Chinese (add them to app/translations/*.tsv): " + ", ".join(
        repr(m) for m, _ in gaps[:30])


def test_committed_po_file_is_up_to_date():
    i18n = load_i18n()
    with open(ROOT / "app/translations/zh/LC_MESSAGES/messages.po", "rb") as fh:
        po = {m.id: m.string for m in read_po(fh) if m.id}
    wanted = i18n.translations()
    stale = [m for m in i18n.extract() if po.get(m) != wanted.get(m)]
    assert not stale, "run `python scripts/i18n.py` to refresh the catalogs: " + ", ".join(stale[:20])


def test_pages_are_chinese_by_default_and_english_on_request(login_as):
    c = login_as("hr")
    page = c.get("/employeeview/list/").get_data(as_text=True)
    assert "工号" in page and "员工" in page and ">Show<" not in page
    c.get("/lang/en")
    english = c.get("/employeeview/list/").get_data(as_text=True)
    assert "Employee number" in english and "工号" not in english


def test_api_errors_follow_the_locale(app):
    c = app.test_client()
    assert c.get("/api/v1/nothing-here").json["message"] == "未找到。"
    assert c.get("/api/v1/nothing-here?_l_=en").json["message"] == "Not found."
