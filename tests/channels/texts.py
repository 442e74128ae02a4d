"""The notification texts the sender renders: the product's (app/notify/messages.py) when present,
else a stand-in with the same signature, so that the channels can be tested on their own."""

from __future__ import annotations

import importlib
import sys
import types
from dataclasses import dataclass


@dataclass(frozen=True)
class Rendered:
    title: str
    text: str
    html_fragment: str


def _render(kind: str, params: dict, locale: str) -> Rendered:
    english = (locale or "").startswith("en")
    who = params.get("employee_no", "")
    title = f"Your turn: {who}" if english else f"待您处理：{who}"
    return Rendered(title, f"{title} ({kind})", f"<p>{title}</p>")


def install_texts(monkeypatch):
    """The module ``app.notify.messages`` (the real one, or the stand-in put in its place)."""
    try:
        return importlib.import_module("app.notify.messages")
    except ImportError:
        stand_in = types.ModuleType("app.notify.messages")
        stand_in.Rendered, stand_in.render = Rendered, _render
        monkeypatch.setitem(sys.modules, "app.notify.messages", stand_in)
        import app.notify as package

        monkeypatch.setattr(package, "messages", stand_in, raising=False)
        return stand_in
