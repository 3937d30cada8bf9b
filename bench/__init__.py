"""`make bench`: our server against a bare-SDK server, same uvicorn, same load. See README.md."""


class BenchError(Exception):
    """Something the figures cannot be trusted past: printed loudly, and the run stops."""
