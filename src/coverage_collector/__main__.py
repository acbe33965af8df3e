"""Allow `python -m coverage_collector`."""

from coverage_collector.cli import main

raise SystemExit(main())
