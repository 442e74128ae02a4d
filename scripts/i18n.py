"""Keep the message catalogs complete.

    python scripts/i18n.py          extract every msgid from app/ and templates/, merge the
                                    translations of app/translations/*.tsv into zh_CN and en,
                                    write the .po files, and list what still lacks Chinese.
    python scripts/i18n.py --check  only report (exit 1 when something lacks Chinese).

The Chinese catalog is app/translations/zh (Babel resolves zh_CN to zh_Hans_CN, whose
fallback is zh). Translations live in TSV files (msgid TAB 中文) so that several people can add them without
editing the same .po file: ``core.tsv``, one ``app/translations/areas/<area>.tsv`` per area, and
``fab_supplement.tsv`` (Flask-AppBuilder's own strings its zh catalog lacks).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "app" / "translations"
KEYWORDS = {"_": None, "gettext": None, "lazy_gettext": None, "_l": None, "ngettext": (1, 2)}
METHOD_MAP = [("**.py", "python"), ("**.html", "jinja2")]


def extract() -> dict[str, list[str]]:
    """msgid -> places it is used, from app/ and templates/."""
    found: dict[str, list[str]] = {}
    for folder in ("app", "templates"):
        base = ROOT / folder
        for filename, lineno, message, _comments, _ctx in extract_from_dir(
            str(base), METHOD_MAP, {"**.html": {"extensions": "jinja2.ext.i18n"}}, KEYWORDS
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                found.setdefault(msgid, []).append(f"{folder}/{filename}:{lineno}")
    return found


def translations() -> dict[str, str]:
    """All msgid -> Chinese pairs from the TSV files (later files win)."""
    pairs: dict[str, str] = {}
    files = sorted(TRANSLATIONS.glob("*.tsv")) + sorted((TRANSLATIONS / "areas").glob("*.tsv"))
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            if "\t" not in line:
                raise SystemExit(f"{path}:{n}: expected 'msgid<TAB>中文'")
            msgid, zh = line.split("\t", 1)
            pairs[msgid.replace("\\n", "\n")] = zh.replace("\\n", "\n")
    return pairs


def missing() -> list[tuple[str, list[str]]]:
    zh = translations()
    return [(m, where) for m, where in sorted(extract().items()) if not zh.get(m)]


def write() -> None:
    used = extract()
    zh = translations()
    for locale in ("zh", "en"):
        catalog = Catalog(locale=locale, project="jixiao", charset="utf-8")
        for msgid in sorted(set(used) | set(zh)):
            text = zh.get(msgid, "") if locale == "zh" else msgid
            catalog.add(msgid, text, locations=[(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1]))
                                                for w in used.get(msgid, [])])
        out = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as fh:
            write_po(fh, catalog, width=0, sort_output=True, omit_header=False)


def main() -> int:
    if "--check" not in sys.argv:
        write()
    gaps = missing()
    for msgid, where in gaps:
        print(f"no Chinese for {msgid!r} ({where[0]})")
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main())
