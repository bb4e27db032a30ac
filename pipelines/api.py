"""The Prefect API a `hinge` command talks to: served from a thread of the command's own process.

Prefect 3 runs a flow only against an API. Without ``PREFECT_API_URL`` it starts a "temporary
server" (``prefect.server.api.server.SubprocessASGIServer``): a second Python process running
uvicorn, stopped only by an ``atexit`` hook of the process that started it. A ``hinge`` killed by
SIGKILL or the OOM killer never ran that hook, so the server (~190 MB) outlived it and held the
caller's stdout open: a script piping ``hinge`` output waited forever.

Here the same application (``create_app(ephemeral=True)``, the one the temporary server runs, with
its database in ``PREFECT_HOME``) is served by uvicorn on a daemon thread of this process, on a
socket bound to a free port before anything can connect. There is no second process, so there is
nothing to leak and nothing left over to reuse: the server dies with the command however it
ends. It also starts sooner (no second interpreter importing Prefect): a one-off ``hinge ingest``
of 10 recordings took 8.6-9.5 s (median of 5: 9.2 s) with the temporary server and 8.1-8.7 s
(8.4 s) with this, on two shared cores; the command's own peak RSS grows by the server's ~100 MB,
while the ~210 MB second process is gone.

``PREFECT_API_URL`` (environment or Prefect profile) pointing at a real Prefect server wins: then
nothing is started here. Child processes (Dask workers, served flow runs) inherit the URL.
"""

from __future__ import annotations

import os
import socket
import threading
import time

from hinge_analytics import configure_process

_lock = threading.Lock()
_url: str | None = None
_served_here = False


class APIUnavailable(RuntimeError):
    """The in-process Prefect API did not start; the message is for the user."""


def ensure_api(scheduler: bool = False) -> str:
    """The API URL flows will use, starting the in-process API on first call if none is configured.

    ``scheduler`` (for `hinge schedule`) serves the full application, whose background services
    turn deployments' schedules into flow runs; the temporary server runs Prefect's ephemeral
    subset, which has no scheduler: under it a served deployment's cron never fires (100 s of
    ``* * * * *`` made no run)."""
    global _url, _served_here
    with _lock:
        if _url is not None:
            return _url
        # A flow's start: the process settings (which `hinge` applied already; a Python caller
        # may not have), then Prefect's settings read again with them.
        configure_process()
        from prefect.context import refresh_global_settings_context
        from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

        configured = PREFECT_API_URL.value()
        if configured:
            _url = str(configured)
            return _url
        refresh_global_settings_context()  # the server below reads the defaults just set
        _url = _serve_in_thread(float(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()), scheduler)
        _served_here = True
        return _url


def server_in_use() -> bool:
    """Whether flows report to a Prefect server someone runs (``PREFECT_API_URL``), whose UI shows
    runs after the command ends; the API served here dies with the command."""
    return _url is not None and not _served_here


def _serve_in_thread(timeout_s: float, scheduler: bool) -> str:
    import uvicorn
    from prefect.context import refresh_global_settings_context
    from prefect.server.api.server import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # the kernel's free port: no probing, no race with another hinge
    sock.set_inheritable(False)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(ephemeral=not scheduler), host="127.0.0.1", port=port, log_level="error", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="hinge-prefect-api", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise APIUnavailable(
                "the local Prefect API did not start (is PREFECT_HOME writable?); "
                "set PREFECT_API_URL to use a running Prefect server instead"
            )
        time.sleep(0.02)

    def stop() -> None:
        # Runs as the interpreter shuts down, before it joins non-daemon threads: the database's
        # (aiosqlite) threads end only when uvicorn's lifespan shutdown closes its connections.
        # Registered before Prefect registers its own hooks, so it runs after them (last in,
        # first out): Prefect's events worker drains to this server first.
        server.should_exit = True
        thread.join(timeout=10)

    threading._register_atexit(stop)  # type: ignore[attr-defined]  # noqa: SLF001
    url = f"http://127.0.0.1:{port}/api"
    os.environ["PREFECT_API_URL"] = url  # for threads and child processes alike
    refresh_global_settings_context()
    return url
