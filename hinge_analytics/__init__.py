"""hinge_analytics: rep-level form feedback for hip-hinge exercises.

The package folders follow SPEC.md's data flow: ``ingest`` -> ``kinematics`` -> ``reps`` ->
``features`` -> ``classify`` -> ``analytics`` -> ``report``; ``simulate`` makes data with known truth.
"""

import os
from importlib.metadata import PackageNotFoundError, version

# Arrow's allocator, chosen once when pyarrow is first imported: the C library's malloc unless the
# user set one. Arrow's default, mimalloc, keeps the pages its scan threads freed for those threads
# to reuse, so memory grew with the number of DuckDB scans: after predict had read a 10,000-recording
# lake in 13 batches it held 115 MB (48 MB at 1,000). An ingest and predict in one process peaked
# at 759 MB over 10,000 recordings and 618-630 MB over 1,000 (+20 %); with malloc at 666 and
# 603-616 MB, in the same time. Has no effect when pyarrow was imported before this package.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

try:
    __version__ = version("hinge_analytics")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+source"

# Bumped whenever a change alters what ingest/kinematics/segmentation/metrics produce, so that
# recordings processed by an older pipeline are re-processed on the next ingest.
PIPELINE_VERSION = "ha-0.1.0"
