"""Fault suite: each script breaks one thing under load and counts what was lost."""
