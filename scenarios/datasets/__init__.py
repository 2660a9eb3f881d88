"""Datasets: deterministic synthetic generators and loaders for common vector file formats."""
