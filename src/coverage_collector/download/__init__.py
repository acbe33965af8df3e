"""`cluster download`: the producer's S3 objects into `<collection>/coverage/<entry>/`.

    layout.py   which keys are coverage, and which entry and instance each belongs to (pure)
    store.py    the bucket: listing and fetching through boto3, retries, the size cap
    files.py    local files written atomically
    run.py      the stage: `Options` -> `run` -> `Summary`

Callers use `Options`, `run` and `Summary`; `ObjectStore` is exported for the callers
that bring their own bucket (the demo's local server, tests), and `FetchError` for those
that tell a listing failure from other errors.
"""

from coverage_collector.download.run import Options, Summary, run
from coverage_collector.download.store import FetchError, ObjectStore

__all__ = ["FetchError", "ObjectStore", "Options", "Summary", "run"]
