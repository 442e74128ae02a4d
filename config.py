"""Configuration from the environment. Every setting has a safe default for the demo."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("JIXIAO_INSTANCE", BASE_DIR / "instance"))


def _secret_key() -> str:
    """SECRET_KEY from the environment, else generated once and kept owner-only in instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    os.chmod(path, 0o600)
    return path.read_text().strip()


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.lower() in {"1", "true", "yes", "on"}


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def load() -> dict:
    """Build the Flask config dict; create_app() applies overrides on top."""
    locale = os.environ.get("JIXIAO_LOCALE", "zh_CN")
    return {
        "SECRET_KEY": _secret_key(),
        "SQLALCHEMY_DATABASE_URI": os.environ.get(
            "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'jixiao.db'}"
        ),
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        "APP_NAME": "绩效 Jixiao",
        "COMPANY_NAME": os.environ.get("JIXIAO_COMPANY", "Jixiao 售后服务网络"),
        # The default rule set's folder (its workflow.toml is the workflow of appraisals without a rule set).
        "JIXIAO_RULES_DIR": BASE_DIR / "rules",
        "JIXIAO_TIMEZONE": os.environ.get("JIXIAO_TIMEZONE", "Asia/Shanghai"),
        "JIXIAO_DEMO_PASSWORD": os.environ.get("JIXIAO_DEMO_PASSWORD", "demo123"),
        # Languages: Chinese first, English second.
        "BABEL_DEFAULT_LOCALE": "en" if locale.startswith("en") else "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("JIXIAO_TIMEZONE", "Asia/Shanghai"),
        "LANGUAGES": {
            "zh_CN": {"flag": "cn", "name": "中文"},
            "en": {"flag": "gb", "name": "English"},
        },
        "BABEL_TRANSLATION_DIRECTORIES": str(BASE_DIR / "app" / "translations"),
        # Flask-AppBuilder
        "AUTH_TYPE": 1,  # AUTH_DB
        "AUTH_ROLE_ADMIN": "Admin",
        "AUTH_ROLE_PUBLIC": "Public",
        "AUTH_USER_REGISTRATION": False,
        # User and role administration stays on the screens; its REST API is not exposed.
        "FAB_ADD_SECURITY_API": False,
        "FAB_API_SWAGGER_UI": False,
        "FAB_API_SHOW_STACKTRACE": False,
        "FAB_UPDATE_PERMS": True,
        # The schema comes from migrations only; FAB must not create tables itself.
        "FAB_CREATE_DB": False,
        "FAB_API_MAX_PAGE_SIZE": 500,
        "FAB_SECURITY_MANAGER_CLASS": "app.security.JixiaoSecurityManager",
        "FAB_INDEX_VIEW": "app.views.home.HomeView",
        "FAB_BASE_TEMPLATE": "jixiao_base.html",
        "APP_THEME": "",
        # Our own login limiter replaces FAB's (which also counts correct logins).
        "AUTH_RATE_LIMITED": False,
        "RATELIMIT_ENABLED": False,
        "LOGIN_MAX_FAILURES": int(os.environ.get("JIXIAO_LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCK_SECONDS": int(os.environ.get("JIXIAO_LOGIN_LOCK_SECONDS", "300")),
        "LOGIN_MAX_FAILURES_PER_IP": int(os.environ.get("JIXIAO_LOGIN_MAX_FAILURES_PER_IP", "20")),
        # Reverse proxies in front of the server whose X-Forwarded-For is believed (the per-address
        # login limit then counts the client, not the proxy). 0: none; the header is ignored.
        "JIXIAO_TRUSTED_PROXIES": _int("JIXIAO_TRUSTED_PROXIES", 0),
        # Cookies and requests
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("JIXIAO_SECURE_COOKIES", False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool("JIXIAO_SECURE_COOKIES", False),
        "WTF_CSRF_ENABLED": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": int(os.environ.get("JIXIAO_MAX_UPLOAD_MB", "200")) * 1024 * 1024,
        # How large a table one import reads (a compressed .xlsx may describe far more than it
        # weighs): the last row that may hold data, columns, cells, and the run of blank rows that
        # ends a workbook's data. The defaults take a million work orders twice over.
        "JIXIAO_IMPORT_MAX_ROWS": int(os.environ.get("JIXIAO_IMPORT_MAX_ROWS", "2000000")),
        "JIXIAO_IMPORT_MAX_COLUMNS": int(os.environ.get("JIXIAO_IMPORT_MAX_COLUMNS", "256")),
        "JIXIAO_IMPORT_MAX_CELLS": int(os.environ.get("JIXIAO_IMPORT_MAX_CELLS", "40000000")),
        "JIXIAO_IMPORT_BLANK_ROWS": int(os.environ.get("JIXIAO_IMPORT_BLANK_ROWS", "1000")),
        "JWT_ACCESS_TOKEN_EXPIRES": 3600,
        # Background jobs. With no broker the jobs go through a table of the database and run in the
        # serving process's runner thread or in `flask worker` processes (app/jobs/).
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL") or None,
        "CELERY_RESULT_BACKEND": os.environ.get("CELERY_RESULT_BACKEND") or None,  # default: the broker
        # Results and uploads: a folder every web and worker node sees (a shared mount on several machines).
        "JIXIAO_JOB_DIR": os.environ.get("JIXIAO_JOB_DIR", str(INSTANCE_DIR / "jobs")),
        "JIXIAO_JOB_QUEUE": os.environ.get("JIXIAO_JOB_QUEUE", "jixiao"),
        # "thread": the serving process runs the queue in a thread; "process": worker processes do;
        # "none": nobody (tests drain it by hand). Only without a broker.
        "JIXIAO_JOB_RUNNER": os.environ.get("JIXIAO_JOB_RUNNER", "thread"),
        "JIXIAO_JOB_KEEP_HOURS": _float("JIXIAO_JOB_KEEP_HOURS", 72),
        "JIXIAO_JOB_HISTORY_DAYS": _float("JIXIAO_JOB_HISTORY_DAYS", 90),
        "JIXIAO_JOB_HEARTBEAT_SECONDS": _float("JIXIAO_JOB_HEARTBEAT_SECONDS", 2),
        "JIXIAO_JOB_STALE_SECONDS": _float("JIXIAO_JOB_STALE_SECONDS", 60),
        "JIXIAO_JOB_TICK_SECONDS": _float("JIXIAO_JOB_TICK_SECONDS", 15),  # 0: no ticker
        "JIXIAO_JOB_MAX_ATTEMPTS": int(os.environ.get("JIXIAO_JOB_MAX_ATTEMPTS", "5")),
        "JIXIAO_JOB_RETRY_SECONDS": _float("JIXIAO_JOB_RETRY_SECONDS", 10),
        "JIXIAO_JOB_VISIBILITY_TIMEOUT": _float("JIXIAO_JOB_VISIBILITY_TIMEOUT", 3600),
        "JIXIAO_JOB_POLL_SECONDS": _float("JIXIAO_JOB_POLL_SECONDS", 0.5),
        "JIXIAO_JOB_STOP_SECONDS": _float("JIXIAO_JOB_STOP_SECONDS", 15),  # a stopped worker's last grace
        # Worker processes `python run.py` starts when no broker is configured (0: none).
        "JIXIAO_JOB_RUNNERS": int(os.environ.get("JIXIAO_JOB_RUNNERS") or min(2, os.cpu_count() or 1)),
        # Appraisals per part of a cycle's PDF export (parts render in parallel on the workers).
        "JIXIAO_EXPORT_PART_SIZE": int(os.environ.get("JIXIAO_EXPORT_PART_SIZE", "20")),
        # Uploads above this size are imported by a background job (employees never: their passwords).
        "JIXIAO_IMPORT_BACKGROUND_MB": _float("JIXIAO_IMPORT_BACKGROUND_MB", 10),
        # Mail. No MAIL_SERVER: notifications stay in the application (the bell), nothing is mailed.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),  # STARTTLS
        "MAIL_USE_SSL": _bool("MAIL_USE_SSL", False),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "jixiao@localhost"),
        "MAIL_TIMEOUT": _float("MAIL_TIMEOUT", 10),
        # Absolute links in mails and robot messages (a worker has no request to take the host from).
        "JIXIAO_BASE_URL": os.environ.get("JIXIAO_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        # The outbox of mails and robot messages.
        "JIXIAO_OUTBOX_RETRY_SECONDS": _float("JIXIAO_OUTBOX_RETRY_SECONDS", 30),
        "JIXIAO_OUTBOX_MAX_ATTEMPTS": _int("JIXIAO_OUTBOX_MAX_ATTEMPTS", 8),
        "JIXIAO_OUTBOX_LEASE_SECONDS": _float("JIXIAO_OUTBOX_LEASE_SECONDS", 300),
        # Group robots: one summary per station and window; https only unless allowed (tests).
        "JIXIAO_ROBOT_WINDOW_SECONDS": _float("JIXIAO_ROBOT_WINDOW_SECONDS", 300),
        "JIXIAO_ROBOT_TIMEOUT": _float("JIXIAO_ROBOT_TIMEOUT", 10),
        "JIXIAO_ROBOT_ALLOW_HTTP": _bool("JIXIAO_ROBOT_ALLOW_HTTP", False),
        # Due dates: a reminder this long before, escalation at the due time and this long after it;
        # the daily digest at this local hour.
        "JIXIAO_REMIND_BEFORE_HOURS": _float("JIXIAO_REMIND_BEFORE_HOURS", 24),
        "JIXIAO_ESCALATE_AFTER_HOURS": _float("JIXIAO_ESCALATE_AFTER_HOURS", 48),
        "JIXIAO_DIGEST_HOUR": _int("JIXIAO_DIGEST_HOUR", 8),
        # Tests only: a zero-argument callable returning an aware datetime (app/clock.py).
        "JIXIAO_CLOCK": None,
    }
