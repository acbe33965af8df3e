"""Source code for the reports: exact-commit checkouts and, per binary, where each file is."""
