"""Sending the outbox (mails and group robot messages, ``app/notify/outbox.py``) off the web workers.

``jixiao.send_outbox`` takes no arguments and is not a job row: the outbox rows are the truth, and any
number of deliveries of the message may drain them at once (each row is claimed by a conditional
UPDATE). The ticker's step :func:`wake_due` sends the message when a row is due.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task

SEND_TASK = "jixiao.send_outbox"


@shared_task(name=SEND_TASK, acks_late=True, ignore_result=True)
def send_outbox() -> None:
    """Send the outbox rows that are due."""


def wake_due(at: dt.datetime) -> int:  # noqa: ARG001 - the ticker's step; nothing is queued yet
    """Send one ``SEND_TASK`` message when an outbox row is due at ``at``; how many were sent."""
    return 0
