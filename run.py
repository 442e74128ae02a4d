"""Entry point. ``flask --app run …`` runs the commands; ``python run.py`` serves the app.

On an empty database ``python run.py`` migrates, loads rules/, seeds the demo and computes the
demo cycle, then serves with gunicorn (``WEB_CONCURRENCY`` workers) on ``HOST``:``PORT``.
"""

from __future__ import annotations

import os

from app import create_app  # noqa: F401 - `flask --app run` finds this factory


def main() -> None:
    from gunicorn.app.base import BaseApplication

    from app.setup import prepare

    application = create_app()
    prepare(application)

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}")
            self.cfg.set("workers", int(os.environ.get("WEB_CONCURRENCY", "2")))
            self.cfg.set("timeout", 300)
            self.cfg.set("accesslog", "-")

        def load(self):
            return application

    Server().run()


if __name__ == "__main__":
    main()
