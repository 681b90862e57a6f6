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

The memory budget that decoded images are checked against is
:func:`gradwise._memory.default_memory_limit`, the one every size check uses.
"""

MAX_MEMBER_BYTES = 64 * 2**20
