"""`inject`: the coverage server that instrumented binaries embed, and its placement.

coverage_server.go   the server (package data): ports 53700+, /coverage, /health, HEAD
packages.py          which directories are main packages (the build system's rule)
run.py               the stage: `Options` -> `run` -> `Summary`
"""

from coverage_collector.inject.run import SERVER_FILE, Options, Summary, run, server_source

__all__ = ["SERVER_FILE", "Options", "Summary", "run", "server_source"]
