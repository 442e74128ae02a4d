"""The approval trail as the PDF prints it: compact whatever the history.

The appraisal's page and the API show every event; the PDF is a document of a few pages, so here
runs of the same step that changes no state (review edits, recomputes) become one row ("审核修改 ×12"),
a very long trail keeps its first and its latest rows around one "… n rows left out" row, and comments
are cut to a few lines. With these bounds an appraisal prints on at most :data:`MAX_PAGES` pages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

MAX_TRAIL_ROWS = 16      # rows of the trail table, the "left out" row included
FIRST_ROWS = 3           # kept from the start of a long trail (the compute, the submission…)
TRAIL_COMMENT = 40       # characters of a comment in the trail table (two lines of its column)
MAX_COMMENTS = 5         # comments printed at more length under "comments", the latest ones
COMMENT_CHARS = 240      # characters of each of those
ADJUSTMENT_CHARS = 1000  # characters of the adjustment's reason (what a review may store)
NAME_CHARS = 16          # characters of a person's name
MAX_PAGES = 4            # what the bounds above keep an appraisal to (a test renders a long history)


def shorten(text: str | None, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    text = (text or "").strip()
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _repeatable(step: Mapping) -> bool:
    """A step that changes no state (its from and to are the same), e.g. a review edit."""
    return bool(step.get("from")) and step.get("from") == step.get("to")


def compact_trail(trail: Iterable[Mapping]) -> list[dict]:
    """The trail's rows for the PDF, oldest first. A row has the step's keys (``when`` being its
    latest time) plus ``count``, ``first_when``, ``whos`` and ``omitted`` (0); a cut trail has one
    ``{"omitted": n}`` row."""
    rows: list[dict] = []
    for step in trail:
        last = rows[-1] if rows else None
        if (last is not None and _repeatable(step) and _repeatable(last) and last["action"] == step["action"]
                and last["from"] == step["from"]):
            last["count"] += 1
            last["when"] = step["when"]
            last["comment"] = step.get("comment") or last["comment"]
            if step["who"] not in last["whos"]:
                last["whos"].append(step["who"])
            continue
        rows.append({**step, "comment": step.get("comment") or "", "count": 1, "first_when": step["when"],
                     "whos": [step["who"]], "omitted": 0})
    for row in rows:
        row["comment"] = shorten(row["comment"], TRAIL_COMMENT)
        row["who"] = shorten("、".join(row["whos"][:3]) + ("…" if len(row["whos"]) > 3 else ""), NAME_CHARS)
    if len(rows) > MAX_TRAIL_ROWS:
        latest = MAX_TRAIL_ROWS - FIRST_ROWS - 1
        rows = rows[:FIRST_ROWS] + [{"omitted": len(rows) - FIRST_ROWS - latest}] + rows[-latest:]
    return rows


def compact_comments(comments: Iterable[Mapping]) -> dict:
    """The latest :data:`MAX_COMMENTS` comments, each cut to :data:`COMMENT_CHARS`, and how many
    earlier ones are left out."""
    said = [comment for comment in comments if (comment.get("text") or "").strip()]
    shown = [{**comment, "who": shorten(comment.get("who"), NAME_CHARS),
              "text": shorten(comment["text"], COMMENT_CHARS)}
             for comment in said[-MAX_COMMENTS:]]
    return {"shown": shown, "omitted": len(said) - len(shown)}
