"""`adm-dinas serve`: the app under gunicorn, N worker processes on one store.

Each worker opens its own connection pool after the fork (nothing is shared across
processes: every invariant lives in the database). The worker class is
`dinas.wsgi_worker.DeadlineWorker`, gunicorn's threaded worker that reads each request's
head (and a body up to `PREREAD_BODY_BYTES`) in its event loop under a deadline before a thread
is given to it, so slow or half-open clients cannot hold the threads.

Also a WSGI entry for a gunicorn you configure yourself:
    ADM_DINAS_DB=... ADM_DINAS_KEY=... gunicorn -k dinas.wsgi_worker.DeadlineWorker 'dinas.wsgi:app_from_env()'
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.app.base import BaseApplication

from .notifier import WebhookNotifier

THREADS_PER_WORKER = 8
KEEPALIVE_SECONDS = 5


def make_app(db: str, key: str | None, webhook_url: str | None = None, webhook_timeout: float = 10.0) -> Any:
    from .server import create_app

    notifier = WebhookNotifier(webhook_url, webhook_timeout) if webhook_url else None
    return create_app(db, key_path=key, notifier=notifier, daily_purge=True)


def app_from_env() -> Any:
    return make_app(os.environ["ADM_DINAS_DB"], os.environ.get("ADM_DINAS_KEY"),
                    os.environ.get("ADM_DINAS_WEBHOOK_URL"))


class DinasApplication(BaseApplication):
    def __init__(self, options: dict[str, Any], app_args: dict[str, Any]) -> None:
        self._options = options
        self._app_args = app_args
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # In each worker, after the fork: its own engine and pool.
        return make_app(**self._app_args)


def run(*, db: str, key: str | None, host: str, port: int, workers: int, webhook_url: str | None = None,
        webhook_timeout: float = 10.0) -> None:
    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": "dinas.wsgi_worker.DeadlineWorker",
        "threads": THREADS_PER_WORKER,
        "worker_connections": 1000,
        "keepalive": KEEPALIVE_SECONDS,
        "timeout": 60,
        "graceful_timeout": 10,
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        "accesslog": None,           # request paths carry session ids; the app logs what matters
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "adm-dinas",
        "preload_app": False,
        "control_socket_disable": True,     # one per machine at a fixed path: several servers would clash
    }
    if os.path.isdir("/dev/shm"):
        # Each worker touches its liveness file on every turn of its loop (many times a
        # second under load): on tmpfs that is a memory write, on /tmp's disk a slow syscall
        # (a quarter of a millisecond per heartbeat measured on a loaded 2-core box).
        options["worker_tmp_dir"] = "/dev/shm"
    DinasApplication(options, {"db": db, "key": key, "webhook_url": webhook_url,
                               "webhook_timeout": webhook_timeout}).run()
