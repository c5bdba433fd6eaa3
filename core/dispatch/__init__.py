"""Dispatchers: how a run gets its next invocation."""
