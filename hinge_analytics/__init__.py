"""hinge_analytics: rep-level form feedback for hip-hinge exercises.

The package folders follow SPEC.md's data flow: ``ingest`` -> ``kinematics`` -> ``reps`` ->
``features`` -> ``classify`` -> ``analytics`` -> ``report``; ``simulate`` makes data with known truth.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hinge_analytics")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+source"

# Bumped whenever a change alters what ingest/kinematics/segmentation/metrics produce, so that
# recordings processed by an older pipeline are re-processed on the next ingest.
PIPELINE_VERSION = "ha-0.1.0"
