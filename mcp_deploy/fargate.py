"""Fargate's task sizes: the CPU units it takes and, for each, the memory sizes (MiB) it takes.

From the ECS Developer Guide ("Task CPU and memory", and "Troubleshoot Amazon ECS task definition
invalid CPU or memory errors"): RegisterTaskDefinition refuses any other pair ("No Fargate
configuration exists for given values"). 8192 and 16384 need Linux platform version 1.4.0 or
later, which LATEST is. Plain Python, so that config validation can use it on any target without
loading a provider SDK; the rules apply only where a task runs on Fargate (target aws-ecs).
"""

from __future__ import annotations

from itertools import pairwise

FARGATE_MEMORY: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}


def fargate_cpu_problem(cpu: int) -> str | None:
    """What Fargate takes instead of `cpu` units, or None when it takes them."""
    if cpu in FARGATE_MEMORY:
        return None
    return "a Fargate size: " + ", ".join(map(str, FARGATE_MEMORY))


def fargate_memory_problem(cpu: int, memory: int, cpu_key: str = "cpu") -> str | None:
    """What Fargate takes instead of `memory` MiB with `cpu` units (given as `cpu_key`), or None
    when it takes the pair. A `cpu` Fargate does not take at all is fargate_cpu_problem's to say."""
    sizes = FARGATE_MEMORY.get(cpu)
    if sizes is None or memory in sizes:
        return None
    return f"with {cpu_key} {cpu}, Fargate takes {_sizes_text(sizes)}"


def fargate_default_memory(cpu: int, preferred: int) -> int:
    """Memory for a Fargate task whose cpu alone is given: `preferred` (the size other targets
    default to) where Fargate takes it with `cpu`, so that no task that works changes size; else
    the smallest size Fargate takes with `cpu` (twice the units: 2048 MiB for 1024, ...)."""
    sizes = FARGATE_MEMORY[cpu]
    return preferred if preferred in sizes else sizes[0]


def fargate_size_problems(cpu: int, memory: int, cpu_key: str, memory_key: str) -> list[str]:
    """Both checks, for a component given a size directly (the Python API, no stack config)."""
    cpu_problem = fargate_cpu_problem(cpu)
    if cpu_problem is not None:
        return [f"{cpu_key} {cpu} is not {cpu_problem}"]
    memory_problem = fargate_memory_problem(cpu, memory, cpu_key)
    return [f"{memory_key} {memory}: {memory_problem}"] if memory_problem is not None else []


def _sizes_text(sizes: tuple[int, ...]) -> str:
    """`512, 1024 or 2048 MiB`, or `1024 to 4096 MiB in steps of 1024` for an even series."""
    steps = {later - earlier for earlier, later in pairwise(sizes)}
    if len(sizes) > 3 and len(steps) == 1:
        return f"{sizes[0]} to {sizes[-1]} MiB in steps of {steps.pop()}"
    return ", ".join(map(str, sizes[:-1])) + f" or {max(sizes)} MiB"
