"""The runner's historical import path: the runner lives in the `hub.engine.run` package."""

from hub.engine.run.lease import FINAL, LostLease
from hub.engine.run.runner import Runner

__all__ = ["FINAL", "LostLease", "Runner"]
