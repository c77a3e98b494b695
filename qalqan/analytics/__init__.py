"""Batch analytics on call records: features, detectors and evaluation."""
