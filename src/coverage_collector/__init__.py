"""coverage-collector: Go coverage from a whole cluster, compiled into answers."""

__version__ = "0.1.0"
