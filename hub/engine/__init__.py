"""Runs and steps: intake, runner, retry policy, executors, leases, replay."""
