"""The periodic due-date job: reminders before a cycle's due dates, escalations after them, and the
daily digest mails (``app/notify/deadlines.py``, ``app/notify/digest.py``). The ticker opens one every
``PERIODIC[JobKind.DEADLINES]``; running it twice is harmless (every notification and digest has a unique
key). What it writes is one transaction with the job's end; the outbox sender wakes after its commit.
"""

from __future__ import annotations

from celery import shared_task
from flask_babel import lazy_gettext as _l

from .. import clock
from ..extensions import db
from ..notify import deadlines as reminders
from ..notify import digest
from .messages import both
from .runtime import claimed

DEADLINES_TASK = "jixiao.deadlines"


@shared_task(bind=True, name=DEADLINES_TASK, acks_late=True, ignore_result=True)
def deadlines(self, job_id: int) -> None:  # noqa: ARG001 - bound task: ``self`` is the Celery task
    with claimed(job_id) as run:
        if run is None:
            return
        at = clock.now()
        counts = {**reminders.run(db.session, at), "digests": digest.run(db.session, at)}
        run.finish_in(db.session, result=counts, message=both(_l(
            "%(reminders)s reminders, %(escalations)s escalations and %(digests)s digests queued.",
            **counts)))
        db.session.commit()
