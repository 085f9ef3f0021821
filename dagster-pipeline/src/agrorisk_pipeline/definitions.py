"""The Dagster code location: every asset, check, job, schedule, sensor and resource under `defs/`."""

from pathlib import Path

import dagster as dg

from agrorisk_pipeline import defs as defs_package

defs = dg.load_defs(defs_root=defs_package, project_root=Path(__file__).parent)
