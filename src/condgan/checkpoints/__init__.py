"""Checkpoint files: weights-only loads, the allow-list of what a stored config may build."""
