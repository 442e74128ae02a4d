"""Imported by the PDF export's fork server (export.py) before it forks any worker.

A process's first appraisal costs about 0.3 s more than the next ones (WeasyPrint's and the font
libraries' one-time work). Done here, once, every worker forks with it done instead of paying it
at its first task, on every export. A failure here is left to the workers to report: they render
the real appraisals and name the one that fails.
"""

from .render import warm_up

try:
    warm_up()
except Exception:  # noqa: BLE001, S110 - the workers report what fails
    pass
