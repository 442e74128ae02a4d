"""Every role walks every menu entry, first in Chinese, then in English (the menu bar's language
switch, ``/lang/en``), on one served app. On every page: no 5xx, no 404 from a menu link, no stack
trace, no raw template text, and no text of the other language.

What counts is the *visible UI text*: every rendered text node of the page (plus placeholders,
button values and the page title), except what the page marks as code: ``<code>``, ``<kbd>``,
``<pre>`` and ``<samp>``. Identifiers are the app's business to mark up that way (metric codes,
permission and view names on the administrator's FAB security screens, content hashes), so the
walk needs no per-screen list of exceptions.

Chinese pages must not show English words (four letters or more). Allowed are format, unit and
brand names (``ALLOWED``, a fixed short list), file name extensions (``.xlsx``), hexadecimal
content hashes, and the data that identifies people: e-mail addresses and the user names stored
in the database (the demo users are ``admin``, ``hr``, ``manager1`` …). Everything else in
English — ``None`` for an empty cell, ``True``, a segment code, a role identifier, a value the
system stored itself such as the creator ``setup`` — is UI text that needs a label.

English pages must not show Chinese UI text. The demo organisation is Chinese, so Chinese *data*
is everywhere (stations, people, positions, HR's indicator names and formulas); a run of Chinese
characters is data when the same run occurs in a text value stored in the database (JSON and TOML
documents read; the Chinese side of a stored bilingual label is not data). Any other run
is UI text left untranslated; the failure lists it, flagged when it is a msgstr of the Chinese
catalog (ours or Flask-AppBuilder's). Language names in their own language (the language menu's
中文) and the product's name (绩效 Jixiao) are allowed. A cell showing a value as Python prints it
(``None``, ``True``) fails in both languages.

An anonymous visitor's home page offers the public verify page. The employee's appraisal fits a
390-pixel phone screen.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from pathlib import Path

import pytest

from tests.browser.conftest import login, screenshot
from tests.signoff.conftest import appraisal_of

pytestmark = pytest.mark.browser

# English words allowed on Chinese pages: format, unit and brand names, and the language switch's "English".
ALLOWED = {"SWOT", "SHA", "PDF", "CSV", "XLSX", "API", "N/A", "NPS", "FTF", "KPI", "Jixiao", "ID", "JSON",
           "TOML", "UTF", "GBK", "Excel", "English"}
WORD = re.compile(r"[A-Za-z][A-Za-z']{3,}(?: [A-Za-z][A-Za-z']+)*")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
HASH = re.compile(r"\b[0-9a-f]{16,}")  # a content hash (or the start of one)
EXTENSION = re.compile(r"(?<![\w.])\.[a-z][a-z0-9]{1,4}\b")  # a file name extension: .xlsx
PYTHON_VALUES = {"None", "True", "False", "nan"}  # a value shown as Python prints it
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
ROOT = Path(__file__).resolve().parents[2]
FAB_ZH = (Path(__import__("flask_appbuilder").__file__).parent
          / "translations" / "zh" / "LC_MESSAGES" / "messages.po")

# The visible text of the page outside code-like elements, one string per text node.
VISIBLE_TEXT = """() => {
  const code = 'code, kbd, pre, samp, script, style, noscript, template';
  const shown = el => (el.closest('select') || el)
    .checkVisibility({checkVisibilityCSS: true, checkOpacity: true});
  const out = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.nodeValue.trim() || !el || el.closest(code) || !shown(el)) continue;
    out.push(n.nodeValue.trim());
  }
  for (const el of document.querySelectorAll('input[placeholder], textarea[placeholder]'))
    if (shown(el)) out.push(el.placeholder);
  for (const el of document.querySelectorAll('input[type=submit], input[type=button]'))
    if (shown(el)) out.push(el.value);
  return out;
}"""


def menu_links(page) -> list[str]:
    hrefs = page.eval_on_selector_all(
        ".navbar a[href]", "els => els.map(e => e.getAttribute('href'))")
    keep = []
    for href in hrefs:
        if not href or href.startswith(("#", "javascript", "http")) or "logout" in href or "/lang/" in href:
            continue
        if href not in keep:
            keep.append(href)
    return keep


def _strings(value):
    """Every data string inside a stored value. JSON and TOML documents (the stored rule files) are
    read; of a bilingual label ``{zh = "草稿", en = "Draft"}`` only the English side is data, the
    Chinese side is a translation the English pages must not show."""
    if isinstance(value, str):
        document = None
        if value[:1] in "[{":
            try:
                document = json.loads(value)
            except ValueError:
                pass
        elif "\n" in value and "=" in value:
            try:
                document = tomllib.loads(value)
            except tomllib.TOMLDecodeError:
                pass
        if document is None:
            yield value
        else:
            yield from _strings(document)
    elif isinstance(value, dict):
        bilingual = "zh" in value and "en" in value
        for key, item in value.items():
            yield from _strings(key)
            if not (bilingual and key == "zh"):
                yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def stored_data(app) -> tuple[set[str], set[str]]:
    """(user names, runs of Chinese characters) of every text value stored in the database."""
    from sqlalchemy import JSON, MetaData, String, Text, select

    from app.extensions import db

    runs: set[str] = set()
    with app.app_context():
        with db.engine.connect() as conn:
            tables = MetaData()
            tables.reflect(bind=conn)
            for table in tables.sorted_tables:
                for column in table.columns:
                    if not isinstance(column.type, String | Text | JSON):
                        continue
                    for (value,) in conn.execute(select(column).distinct()):
                        for text in _strings(value):
                            runs.update(HAN.findall(text))
            usernames = set(conn.execute(select(tables.tables["ab_user"].c.username)).scalars())
        db.session.remove()
    return usernames, runs


@functools.cache
def catalog_chinese() -> frozenset[str]:
    """The Chinese msgstr values of our catalog and of Flask-AppBuilder's."""
    from babel.messages.pofile import read_po

    found: set[str] = set()
    for path in (ROOT / "app" / "translations" / "zh" / "LC_MESSAGES" / "messages.po", FAB_ZH):
        with path.open("rb") as fh:
            for message in read_po(fh):
                for text in message.string if isinstance(message.string, tuple) else (message.string,):
                    found.update(HAN.findall(text or ""))
    return frozenset(found)


def check_page(page, href: str) -> list[str]:
    """Visit one page; assert the errors that end the walk; return its visible UI text."""
    response = page.goto(href, wait_until="domcontentloaded")
    assert response is not None and response.status < 500, f"{href}: {response and response.status}"
    assert response.status != 404, f"{href} is a broken menu link"
    body = page.inner_text("body")
    assert "Traceback" not in body and 'File "' not in body, f"{href} shows a stack trace"
    assert "{{" not in body and "}}" not in body and "{%" not in body, f"{href} shows raw template text"
    return page.evaluate(VISIBLE_TEXT)


def english_words(texts: list[str], usernames: set[str]) -> set[str]:
    names = re.compile(r"(?<![\w@.])(?:" + "|".join(map(re.escape, sorted(usernames, key=len, reverse=True)))
                       + r")(?![\w@])") if usernames else None
    words = set()
    for text in texts:
        text = HASH.sub(" ", EXTENSION.sub(" ", EMAIL.sub(" ", text)))
        if names is not None:
            text = names.sub(" ", text)
        words.update(w for w in WORD.findall(text) if w not in ALLOWED and not w.isupper())
    return words


def chinese_ui(texts: list[str], data_runs: set[str], allowed: set[str]) -> set[str]:
    return {run for text in texts for run in HAN.findall(text) if run not in data_runs and run not in allowed}


@pytest.mark.parametrize("username", ["admin", "hr", "manager1", "sup1", "emp1"])
def test_every_menu_entry_in_chinese_and_english(served, new_page, username):
    # The browser keeps the static files instead of revalidating each on every page (time).
    served.app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    page = new_page()
    # Anonymous: the home page offers sign-in and the public verify page.
    page.goto("/")
    verify = page.locator("a.jx-verify-link")
    assert verify.count() == 1, "the anonymous home page offers no link to the verify page"
    assert verify.get_attribute("href").rstrip("/").endswith("/verify")
    login(page, username)
    links = menu_links(page)
    assert links, "no menu entries found"
    usernames, data_runs = stored_data(served.app)

    english: dict[str, set[str]] = {}
    for href in ["/", *links]:
        words = english_words(check_page(page, href), usernames)
        if words:
            english[href] = words
    screenshot(page, f"walk-{username}-zh-last")

    page.goto("/lang/en")
    # Language names in their own language, and the product's name (绩效 Jixiao) are no UI text.
    allowed = {"中文", *HAN.findall(served.app.config["APP_NAME"])}
    catalog = catalog_chinese()
    chinese: dict[str, set[str]] = {}
    en_links = menu_links(page)
    assert sorted(en_links) == sorted(links), "the English menu differs from the Chinese one"
    for href in ["/", *links]:
        texts = check_page(page, href)
        assert href != "/" or "Jixiao performance appraisal" in texts, "the language switch did not switch"
        runs = chinese_ui(texts, data_runs, allowed) | (PYTHON_VALUES & set(texts))
        if runs:
            chinese[href] = {f"{run}{' (catalog)' if run in catalog else ''}" for run in runs}
    screenshot(page, f"walk-{username}-en-last")

    problems = [f"zh {href}: {' | '.join(sorted(words))}" for href, words in english.items()]
    problems += [f"en {href}: {' | '.join(sorted(runs))}" for href, runs in chinese.items()]
    assert not problems, f"{username} sees text in the wrong language:\n" + "\n".join(problems)


def test_employee_appraisal_fits_a_phone(served, as_user):
    from app.extensions import db

    with served.app.app_context():
        pk = appraisal_of("EMP1").id
        db.session.remove()
    page = as_user("emp1", width=390, height=844)
    page.goto(f"/appraisal/show/{pk}")
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]")
    screenshot(page, "phone-390-appraisal")
    assert max(widths[0], widths[1]) <= widths[2], widths
