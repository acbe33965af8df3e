"""`cluster diff`: what a test run or a release added, lost, or never reached."""
