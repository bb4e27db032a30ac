"""Prefect flows: orchestration only. Every step they run is a plain hinge_analytics function.

Importing this package configures Prefect for local, offline use before Prefect is imported:
no telemetry, quiet logs. The API flows report to is served from a thread of the command's own
process (pipelines/api.py), so no server process outlives a command. Users who run a Prefect server
set PREFECT_API_URL themselves and these defaults step aside.
"""

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_LOG_PRINTS", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "")
