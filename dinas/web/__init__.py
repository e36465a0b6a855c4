"""The fleet page for dinas admins, served at /admin by the same app as the API
(docs/FLEET-PAGE.md). `register(app)` adds it to an app made by `dinas.server.create_app`."""

from __future__ import annotations

from flask import Flask

from . import login, pages  # noqa: F401 - their routes join the blueprint
from .guard import web
from .i18n import Translations


def register(app: Flask) -> None:
    app.extensions["fleet_web"] = Translations()
    app.register_blueprint(web)
