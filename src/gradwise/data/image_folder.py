"""Image folders: ``<split>/<class>/<image>`` in a directory, a ``.tar``/``.tar.gz`` or a ``.zip``.

This is torchvision's ImageFolder convention with a split level on top:

* ``train/<class>/...`` and ``test/<class>/...``: the split is taken as given; both splits
  must exist and hold the same classes, each with at least one image.
* ``<class>/...`` (no split level): a stratified split is made with ``test_fraction`` and
  ``seed`` (see :func:`gradwise.data.split.stratified_split_indices`).

Folders that wrap the whole tree (``cifar10-jpeg/train/...``) are looked through. Images may
sit in sub-folders of their class folder. Class names are the folder names, sorted (so label
``i`` is the ``i``-th name in alphabetical order, as in ImageFolder); examples are ordered by
split, class, then path. Every image is decoded with Pillow and converted to RGB (see
:mod:`gradwise.data.decode`); any file that is not an image is an error that names it.
Decoded arrays are cached (see :mod:`gradwise.data.cache`).
"""

import numbers
from pathlib import Path

import numpy as np

from ..errors import DataError
from ._text import printable
from .cache import cache_key, cached_arrays, fingerprint
from .containers import container_kind, iter_container
from .dataset import Dataset
from .decode import check_target_size, decode_images
from .split import stratified_split_indices

SPLITS = ("train", "test")


def load_image_folder(
    path, *, size=None, test_fraction=0.2, seed=0, cache=True, workers=None, name=None, source=None
) -> Dataset:
    """Load an image folder (directory, tar or zip archive) as a :class:`Dataset`.

    ``size``: ``None`` (all images must share one size), an int ``s`` (resize to s x s) or
    ``(height, width)``. ``test_fraction``/``seed`` are used only when there is no split level.
    ``cache=False`` decodes in memory and writes nothing. ``workers``: decoding processes
    (default: all available cores).
    """
    path = Path(path)
    size = normalise_size(size)
    check_target_size(size)
    kind = container_kind(path)
    # Without the cache no key is needed: the tree is not walked twice.
    source_id = fingerprint(path) if cache else None
    key = cache_key("images", source_id, {"size": list(size) if size else None})
    arrays, meta, entry = cached_arrays(
        key, lambda: decode_folder(path, size=size, workers=workers), use_cache=cache
    )
    if meta["layout"] == "split":
        X_train, y_train = arrays["X_train"], arrays["y_train"]
        X_test, y_test = arrays["X_test"], arrays["y_test"]
    else:
        train, test = stratified_split_indices(arrays["y_all"], test_fraction, seed=seed)
        X_train, y_train = arrays["X_all"][train], arrays["y_all"][train]
        X_test, y_test = arrays["X_all"][test], arrays["y_all"][test]
    return Dataset(
        name=name or path.name,
        X_train=X_train,
        y_train=np.asarray(y_train, np.int64),
        X_test=X_test,
        y_test=np.asarray(y_test, np.int64),
        classes=tuple(meta["classes"]),
        source=source or f"image folder {printable(path)} ({kind})",
        cache_path=entry,
        info={"layout": meta["layout"], "container": kind},
    )


def decode_folder(path, *, size=None, workers=None) -> tuple[dict, dict]:
    """Decode every image of an image folder; return ``(arrays, meta)`` for the cache.

    Arrays: ``X_train, y_train, X_test, y_test`` with a split level, else ``X_all, y_all``.
    """
    folders = set()

    def files():
        for name, payload in iter_container(path):
            if payload is None:
                folders.add(name)
            else:
                yield name, payload

    images = decode_images(files(), size=size, workers=workers)
    split, label, classes, has_splits = plan_layout(images.names, folders, label=str(path))
    names = images.names
    order = np.array(sorted(range(len(names)), key=lambda i: (split[i], label[i], names[i])))
    meta = {"classes": list(classes), "layout": "split" if has_splits else "unsplit"}
    if not has_splits:
        return {"X_all": images.take(order), "y_all": label[order]}, meta
    train, test = order[split[order] == 0], order[split[order] == 1]
    arrays = {
        "X_train": images.take(train),
        "y_train": label[train],
        "X_test": images.take(test),
        "y_test": label[test],
    }
    return arrays, meta


def plan_layout(files, folders=(), *, label="image folder"):
    """Work out each file's split and class from the paths (see the module docstring).

    Returns ``(split, labels, classes, has_splits)``: int64 arrays (split 0 = train,
    1 = test; all 0 without a split level), the sorted class names, and whether the tree
    had a split level. Raises :class:`DataError` for every layout problem, naming the path.
    """
    if not files:
        raise DataError(f"{printable(label)}: no images found (expected <split>/<class>/<image>)")
    parts = [f.split("/") for f in files]
    folder_parts = [d.split("/") for d in folders]
    depth = _wrapper_depth(parts, folder_parts)
    prefix = "/".join(parts[0][:depth])
    rel = [p[depth:] for p in parts]
    rel_folders = [
        d[depth:] for d in folder_parts if len(d) > depth and d[:depth] == parts[0][:depth]
    ]
    has_splits = any(r[0] in SPLITS for r in rel) or any(d[0] in SPLITS for d in rel_folders)
    where = printable(f"{label}{'/' + prefix if prefix else ''}")
    if has_splits:
        return (*_plan_split(files, rel, rel_folders, where), True)
    return (*_plan_unsplit(files, rel, rel_folders, where), False)


def _wrapper_depth(parts, folder_parts):
    """How many leading folders wrap the whole tree (and are not a split or class level)."""
    depth = 0
    while True:
        heads = {p[depth] for p in parts}
        if len(heads) != 1 or any(len(p) - depth < 3 for p in parts):
            return depth
        head = heads.pop()
        if head in SPLITS:
            return depth
        siblings = {
            d[depth] for d in folder_parts if len(d) > depth and d[:depth] == parts[0][:depth]
        }
        if siblings - {head}:
            return depth
        depth += 1


def _plan_split(files, rel, rel_folders, where):
    for name, r in zip(files, rel, strict=True):
        if r[0] not in SPLITS:
            raise DataError(
                f"{where}: {r[0]!r} sits beside the split folders; the top level holds either "
                "train/ and test/ or class folders, not both"
            )
        if len(r) < 3:
            raise DataError(
                f"{printable(name)}: images must be inside class folders (<split>/<class>/<image>)"
            )
    with_images = {s: {r[1] for r in rel if r[0] == s} for s in SPLITS}
    declared = {s: {d[1] for d in rel_folders if len(d) >= 2 and d[0] == s} for s in SPLITS}
    present = {r[0] for r in rel} | {d[0] for d in rel_folders}
    for s in SPLITS:
        if s not in present:
            other = SPLITS[1 - SPLITS.index(s)]
            raise DataError(
                f"{where}: has {other}/ but no {s}/ split; add {s}/<class>/<image> "
                "or drop the split level so that a split is made"
            )
        empty = sorted(declared[s] - with_images[s])
        if empty:
            raise DataError(f"{where}/{s}/{printable(empty[0])}: class folder has no images")
        if not with_images[s]:
            raise DataError(f"{where}/{s}: split folder has no images")
    for s in SPLITS:
        other = SPLITS[1 - SPLITS.index(s)]
        lacking = sorted(with_images[other] - with_images[s])
        if lacking:
            raise DataError(
                f"{where}: class {lacking[0]!r} has images in {other}/ but none in {s}/"
            )
    classes = sorted(with_images["train"])
    index = {c: i for i, c in enumerate(classes)}
    split = np.array([SPLITS.index(r[0]) for r in rel], np.int64)
    labels = np.array([index[r[1]] for r in rel], np.int64)
    return split, labels, classes


def _plan_unsplit(files, rel, rel_folders, where):
    for name, r in zip(files, rel, strict=True):
        if len(r) < 2:
            raise DataError(
                f"{printable(name)}: images must be inside class folders (<class>/<image>)"
            )
    with_images = {r[0] for r in rel}
    empty = sorted({d[0] for d in rel_folders} - with_images)
    if empty:
        raise DataError(f"{where}/{printable(empty[0])}: class folder has no images")
    classes = sorted(with_images)
    index = {c: i for i, c in enumerate(classes)}
    return np.zeros(len(rel), np.int64), np.array([index[r[0]] for r in rel], np.int64), classes


def normalise_size(size):
    """``None``, an int ``s`` -> ``(s, s)``, or ``(height, width)`` of positive ints."""
    if size is None:
        return None
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (size, size)
    try:
        height, width = size
    except (TypeError, ValueError):
        raise TypeError(f"size must be an int or (height, width), got {size!r}") from None
    for value in (height, width):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"size must hold positive integers, got {size!r}")
    return int(height), int(width)
