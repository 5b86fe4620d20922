"""Parquet table schemas shared between stages, and their validated I/O."""
