"""Validity report of the shipped model (``python evaluation/validity/validity.py``)."""
