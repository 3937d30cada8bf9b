"""Notes: the knowledge-base data, always scoped to the caller that owns it."""
