"""Where flow tasks run, chosen by configuration only (no code change to scale out).

``HINGE_DASK_ADDRESS`` unset      -> Prefect's thread pool in this process (default).
``HINGE_DASK_ADDRESS=local``      -> a Dask LocalCluster on this machine (one worker per core).
``HINGE_DASK_ADDRESS=tcp://h:8786`` -> an existing Dask cluster (workers must see the batch folder
                                     and the lake URL; credentials come from their environment).
The lake location is configured the same way: ``--lake``/``HINGE_LAKE`` may be ``s3://bucket/lake``
with the standard ``AWS_*`` variables (``AWS_ENDPOINT_URL`` for S3-compatible stores), which
delta-rs reads itself.
"""

from __future__ import annotations

import os

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

DASK_ENV = "HINGE_DASK_ADDRESS"


def task_runner_from_env() -> TaskRunner:
    address = os.environ.get(DASK_ENV, "").strip()
    if not address:
        return ThreadPoolTaskRunner(max_workers=2)
    from prefect_dask import DaskTaskRunner

    if address == "local":
        workers = max(1, os.cpu_count() or 1)
        return DaskTaskRunner(
            cluster_class="distributed.LocalCluster",
            cluster_kwargs={
                "n_workers": workers,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            },
        )
    return DaskTaskRunner(address=address)


def parallelism() -> int:
    """How many chunks to keep in flight: enough to feed every worker, few enough to bound memory."""
    address = os.environ.get(DASK_ENV, "").strip()
    if address and address != "local":
        return int(os.environ.get("HINGE_MAX_IN_FLIGHT", "8"))
    return max(2, os.cpu_count() or 2)
