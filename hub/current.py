"""The Runtime serving the current request, for blueprints.

It lives apart from hub.app so that the blueprints need not import the module that imports them.
"""

from __future__ import annotations

from flask import current_app

from hub.runtime import Runtime


def runtime() -> Runtime:
    """The Runtime of the app handling this request."""
    return current_app.extensions["hub"]
