"""Signals of the job layer. ``job_finished`` is sent after the commit that finished a job (done or
failed), with ``job_id`` and ``state``; notifications hook in here."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

job_finished = _signals.signal("job-finished")
