"""`cluster import`: directories of `covmeta.*`/`covcounters.*` into a collection.

layout.py      who ran the processes: flags and `--layout` paths (`Identity`)
snapshots.py   which counter files are snapshots of one process (only the newest counts)
run.py         the stage: `Options` -> `run` -> `Summary`
"""

from coverage_collector.gocoverdir.layout import Identity
from coverage_collector.gocoverdir.run import Options, Summary, run

__all__ = ["Identity", "Options", "Summary", "run"]
