"""The compiled message catalogs (``.mo``), made at start-up when they are missing or older than their
``.po``: an install that did not run ``make catalogs`` (``pip install .``, a fresh clone started with
``python run.py``) still speaks Chinese.

Each catalog is written whole under a temporary name and then renamed, so several processes starting at
once (gunicorn's workers) never read half a file. A folder the server may not write (a read-only
install) gets its compiled catalogs under the instance folder instead, which is then searched first.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)


def stale(po: Path, mo: Path) -> bool:
    return not mo.is_file() or mo.stat().st_mtime < po.stat().st_mtime


def compile_catalog(po: Path, mo: Path) -> None:
    """``po`` compiled into ``mo``, written whole before it gets its name."""
    with po.open("rb") as source:
        catalog = read_po(source)
    mo.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=mo.parent, prefix=".messages-", suffix=".mo")
    try:
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog, use_fuzzy=False)
        os.replace(temporary, mo)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def ensure_compiled(translations: Path, fallback: Path) -> list[Path]:
    """Compile every stale catalog of ``translations`` (``<lang>/LC_MESSAGES/messages.po``); the folders
    that hold the compiled catalogs, ``fallback`` first when a catalog had to go there."""
    folders = [translations]
    for po in sorted(translations.glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if not stale(po, mo):
            continue
        try:
            compile_catalog(po, mo)
        except OSError:
            moved = fallback / po.relative_to(translations).with_suffix(".mo")
            if stale(po, moved):
                compile_catalog(po, moved)
            if fallback not in folders:
                folders.insert(0, fallback)
        log.info("compiled the message catalog %s", po.parent.parent.name)
    return folders
