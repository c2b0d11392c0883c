"""Utterance segmentation evaluation."""
