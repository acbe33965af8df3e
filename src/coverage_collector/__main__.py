"""Allow `python -m coverage_collector`."""

from coverage_collector.entry import main

raise SystemExit(main())
