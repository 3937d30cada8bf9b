"""The garbage collector, set for a long-running server.

A full collection walks every object the collector tracks: after start-up about 170,000, most
of them the imported modules', about 50 ms each time on a 2-core machine. Under load the
objects of requests in flight outlive two young collections and reach the old generation, so
full collections came about once a second: `make bench` measured 11 of 40-60 ms in 10 s of
get_note load, and a p99 of 55-65 ms where the bare SDK's was 10 ms.

So: no collections while starting (importing is most of start-up and leaves next to no garbage:
about 900 objects), then the start-up heap is frozen out of every later collection
(`gc.freeze`), and the young generation is larger, so that a request's objects die young
instead of being promoted. Python's own advice for servers that fork is the same pair,
`gc.disable()` early and `gc.freeze()` once set up (docs of gc.freeze).
"""

from __future__ import annotations

import gc

# CPython's default is 700 allocations; at 16 requests at once that promotes objects of
# requests still in flight. 5,000 is a few hundred KB of young objects at most.
YOUNG_THRESHOLD = 5_000


def pause() -> None:
    """Before the imports: no collections until `settle`. A command that does not serve exits
    soon after, so it need not settle."""
    gc.disable()


def settle() -> None:
    """Once serving: freeze what start-up built, collect from here on with a larger young
    generation."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    gc.enable()
