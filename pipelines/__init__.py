"""Prefect flows: orchestration only. Every step they run is a plain hinge_analytics function.

Installed as ``hinge_analytics.pipelines`` (the repository keeps it in the top-level ``pipelines/``
folder; pyproject.toml maps it into the package, so no generic ``pipelines`` package is installed).

``import hinge_analytics`` leaves the process as it is. Importing this orchestration subpackage (the
flow commands and Prefect's flow-run processes do) configures Prefect for local, offline use before
Prefect is imported: no telemetry, quiet logs. The API flows report to is served from a thread of the
command's own process (``api.py``), so no server process outlives a command. Users who run a Prefect
server set PREFECT_API_URL themselves and these defaults step aside.
"""

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_LOG_PRINTS", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "")
