"""Classifier evaluation, baselines and generalisation runs."""
