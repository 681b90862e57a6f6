"""How big a file or a decoded array may be before it is refused, not read.

``MAX_MEMBER_BYTES`` bounds one archive member. It is 64 MiB: the uncompressed RGB bytes
of a 4,700 x 4,700 image (about 22 megapixels, 3 bytes a pixel), far above any dataset image
(CIFAR-10's are 32 x 32, ImageNet's a few hundred kilobytes) and above a camera JPEG; the
largest member of the official CIFAR-10 archive (a 31 MB batch, read by the same tar
reader) fits too. A larger member cannot be an image gradwise should decode, and reading it
first to find it is "not an image" is what a decompression bomb exploits (a 3 MB zip can
hold 3 GiB of zeros). The member's declared size is checked before reading, and at most
``MAX_MEMBER_BYTES + 1`` bytes are ever read, since headers can lie. Read the constant
through this module (``_limits.MAX_MEMBER_BYTES``) so that a test can lower it.

``memory_budget()`` bounds what decoded images may take: a quarter of the physical memory
(the rule of ``gradwise.optim.descent.default_memory_limit``, which this layer cannot
import), or a quarter of the process's address-space limit where one is set and lower.
"""

import os

try:
    import resource
except ImportError:  # Not on a Unix.
    resource = None

MAX_MEMBER_BYTES = 64 * 2**20


def memory_budget() -> int:
    """Bytes that arrays built from a dataset may take, all together."""
    try:
        budget = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):
        budget = 2 * 2**30
    if resource is not None:
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY and soft > 0:
            budget = min(budget, soft // 4)
    return budget


def human(n_bytes) -> str:
    """``"3.0 GiB"``: a byte count for an error message."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n_bytes < 1024 or unit == "TiB":
            return f"{n_bytes:.0f} {unit}" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes} bytes"  # pragma: no cover
