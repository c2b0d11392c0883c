"""Validity studies of the shipped model (issue 12)."""
