"""hinge_analytics: rep-level form feedback for hip-hinge exercises.

The package folders follow SPEC.md's data flow: ``ingest`` -> ``kinematics`` -> ``reps`` ->
``features`` -> ``classify`` -> ``analytics`` -> ``report``; ``simulate`` makes data with known truth.
"""

import ctypes
import os
import sys
from importlib.metadata import PackageNotFoundError, version

_M_ARENA_MAX = -8  # glibc's malloc.h


def _frugal_allocators() -> None:
    """Allocator settings that keep a long batch's memory flat, unless the user chose their own.

    Predict reads the lake with DuckDB batch after batch, and each batch's scans left memory
    behind. Arrow's default allocator, mimalloc, keeps the pages its scan threads freed for those
    threads to reuse: after predict over a 10,000-recording lake (13 batches) it held 115 MB, 48 MB
    after 1,000. So Arrow allocates with malloc (its pool is fixed when pyarrow is first imported;
    this has no effect if that happened before). glibc's malloc then gives each new thread its own
    arena, up to 8 per core, each fragmenting on its own (37 MB in arenas after 10,000, 8.5 MB
    after 1,000), so two arenas. Predict over 10,000 recordings in a fresh process peaked at
    605-630 MB with neither, 540-550 MB with malloc, 502-508 MB with both (462-468 MB over 1,000);
    the served ingest + predict at 10,000: 759 MB with neither, 666 MB with malloc. No change in
    time either way.
    """
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    if sys.platform.startswith("linux") and "MALLOC_ARENA_MAX" not in os.environ:
        mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # glibc's; elsewhere ignored
        if mallopt is not None:
            mallopt(_M_ARENA_MAX, 2)


_frugal_allocators()

try:
    __version__ = version("hinge_analytics")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+source"

# Bumped whenever a change alters what ingest/kinematics/segmentation/metrics produce, so that
# recordings processed by an older pipeline are re-processed on the next ingest.
PIPELINE_VERSION = "ha-0.2.0"
