"""Build the packaged ``cifar10-sample`` from the shared CIFAR-10 JPEG copy, deterministically.

    python tools/make_cifar10_sample.py [--source ../shared/data/cifar10-jpeg.tar.gz]

Picks 500 train and 100 test images per class with ``np.random.default_rng(0)`` (a sorted
draw without replacement from each class folder, so the subset is class-balanced and the same
on every run), and stores their original JPEG bytes, unchanged, in
``src/gradwise/data/files/cifar10-sample.tar.gz`` as ``cifar10-sample/<split>/<class>/NNNN.jpg``
(the file names of the source, so each image can be traced back). The tar headers carry no
time, owner or permissions of this machine and the gzip header no time stamp, so the output
is byte-for-byte reproducible. JPEG files compress poorly one by one but share their
quantisation and Huffman tables, so one gzip stream over all of them is about a third the size
of a zip of the same files.
"""

import argparse
import gzip
import hashlib
import io
import sys
import tarfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"
DEFAULT_OUTPUT = ROOT / "src" / "gradwise" / "data" / "files" / "cifar10-sample.tar.gz"
PER_CLASS = {"train": 500, "test": 100}
TOP = "cifar10-sample"
SEED = 0


def read_source(source):
    """``{(split, class): {file name: bytes}}`` for every JPEG of the shared copy."""
    groups = {}
    with tarfile.open(source, "r:gz") as archive:
        for member in archive:
            if not member.isfile():
                continue
            parts = member.name.split("/")
            split, cls, filename = parts[-3:]
            if split in PER_CLASS:
                groups.setdefault((split, cls), {})[filename] = archive.extractfile(member).read()
    return groups


def choose(groups):
    """``[(split, class, file name, bytes)]`` in sorted order, ``PER_CLASS[split]`` per class."""
    rng = np.random.default_rng(SEED)
    chosen = []
    for split, cls in sorted(groups):
        names = sorted(groups[(split, cls)])
        need = PER_CLASS[split]
        if len(names) < need:
            raise SystemExit(f"{split}/{cls} has {len(names)} images, need {need}")
        picked = np.sort(rng.choice(len(names), size=need, replace=False))
        chosen += [(split, cls, names[i], groups[(split, cls)][names[i]]) for i in picked]
    return chosen


def write_archive(chosen, output):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for split, cls, filename, data in chosen:
            info = tarfile.TarInfo(f"{TOP}/{split}/{cls}/{filename}")
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(data))
    compressed = gzip.compress(buffer.getvalue(), compresslevel=9, mtime=0)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_bytes(compressed)
    tmp.replace(output)
    return compressed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if not args.source.is_file():
        print(f"{args.source}: not found", file=sys.stderr)
        return 2
    chosen = choose(read_source(args.source))
    data = write_archive(chosen, args.output)
    counts = {s: sum(1 for c in chosen if c[0] == s) for s in PER_CLASS}
    print(
        f"wrote {args.output} ({len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()}): "
        f"{counts['train']} train + {counts['test']} test images"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
