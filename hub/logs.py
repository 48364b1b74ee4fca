"""Log set-up for the `hub` commands: the hub's own `event=` lines at HUB_LOG_LEVEL, while libraries
that log routine work at INFO (APScheduler: two lines per job run, several a second; Alembic: every
start) stay at HUB_LIBRARY_LOG_LEVEL, WARNING unless asked for."""

from __future__ import annotations

import logging

from hub.config import Settings

FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"
CHATTY_LIBRARIES = ("apscheduler", "alembic")


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(format=FORMAT)
    logging.getLogger().setLevel(settings.log_level)
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(settings.library_log_level)
