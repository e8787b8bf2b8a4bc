"""Scenario files: format, loading, generated suites (layer 2)."""
