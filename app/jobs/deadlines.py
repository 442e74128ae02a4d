"""The periodic due-date job: reminders before a cycle's due dates, escalations after them, and the
daily digest mails (``app/notify/deadlines.py``, ``app/notify/digest.py``). The ticker opens one every
``PERIODIC[JobKind.DEADLINES]``; running it twice is harmless (every notification has a unique key).
"""

from __future__ import annotations

from celery import shared_task

from ..extensions import db
from .runtime import claimed

DEADLINES_TASK = "jixiao.deadlines"


@shared_task(bind=True, name=DEADLINES_TASK, acks_late=True, ignore_result=True)
def deadlines(self, job_id: int) -> None:  # noqa: ARG001 - bound task: ``self`` is the Celery task
    with claimed(job_id) as run:
        if run is None:
            return
        run.finish_in(db.session, result={}, message=None)
        db.session.commit()
