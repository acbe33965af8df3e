"""Exports: our numbers in the formats other tools read (Go profiles, LCOV, Cobertura, ...)."""
