"""Prefect flows: orchestration only. Every step they run is a plain hinge_analytics function.

Installed as ``hinge_analytics.pipelines`` (the repository keeps it in the top-level ``pipelines/``
folder; pyproject.toml maps it into the package, so no generic ``pipelines`` package is installed).

Importing it changes nothing in the process. The settings a flow run wants (Prefect for local,
offline use: no telemetry, quiet logs; see ``hinge_analytics.configure_process``) are applied by the
``hinge`` command at its start and by ``api.ensure_api`` before a flow runs; Prefect's flow-run
processes inherit them. The API flows report to is served from a thread of the command's own
process (``api.py``), so no server process outlives a command. Users who run a Prefect server set
PREFECT_API_URL themselves and these defaults step aside.
"""
