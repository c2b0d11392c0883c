"""Evaluation scripts and their stored results (importable by the tests; run by path)."""
