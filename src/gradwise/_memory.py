"""The memory budget that sizes are checked against before any work: a dense matrix, a
model's parameters, a decoded image. One number, so every refusal agrees with the others."""

import os

try:
    import resource
except ImportError:  # not a Unix
    resource = None


def default_memory_limit():
    """A quarter of the physical memory (2 GiB where it cannot be read), or a quarter of the
    process's address-space limit where one is set and lower (``ulimit -v``)."""
    try:
        budget = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):
        budget = 2 * 2**30
    if resource is not None:
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY and soft > 0:
            budget = min(budget, soft // 4)
    return budget


def human_bytes(n_bytes):
    """``3.5 GiB``, ``12 bytes``: a size as people read it."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n_bytes < 1024 or unit == "TiB":
            return f"{n_bytes:.0f} {unit}" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
