"""Where jobs keep files: uploads waiting for an import, results to download, parts of an export.

Everything lives under ``JIXIAO_JOB_DIR`` (a folder every web and worker node sees); the job row stores
paths relative to it. A file appears under its final name only whole (:func:`atomic_file`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from flask import current_app

TMP_SUFFIX = ".tmp"


def job_dir() -> Path:
    return Path(current_app.config["JIXIAO_JOB_DIR"])


def upload_path(token: str, suffix: str) -> Path:
    return _child("uploads", f"{token}{suffix}")


def result_path(job_id: int, suffix: str) -> Path:
    return _child("results", f"job-{int(job_id)}{suffix}")


def part_dir(job_id: int) -> Path:
    """The folder of a job's parts (not created)."""
    return job_dir() / "parts" / f"job-{int(job_id)}"


def part_path(job_id: int, number: int) -> Path:
    folder = part_dir(job_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"part-{int(number):05d}.zip"


def relative(path: Path) -> str:
    """The path as the job row stores it."""
    return Path(path).resolve().relative_to(job_dir().resolve()).as_posix()


def absolute(stored: str) -> Path:
    """A stored path back under the job folder; never outside it."""
    base = job_dir().resolve()
    path = (base / stored).resolve()
    if path == base or base not in path.parents:
        raise ValueError(f"{stored!r} is outside the job folder")
    return path


@contextmanager
def atomic_file(path: Path, mode: str = "wb") -> Iterator[IO]:
    """Write ``path.tmp``, flush it to disk, then rename it to ``path``; on an error remove the
    temporary file. A reader (or a worker killed meanwhile) never sees half a file under ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + TMP_SUFFIX)
    try:
        with open(tmp, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _child(folder: str, name: str) -> Path:
    path = job_dir() / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
