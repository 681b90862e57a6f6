"""Model files: ``.npz`` arrays (no pickle) plus one JSON metadata record, validated on load.

A model file is an uncompressed NumPy ``.npz`` (a zip of ``.npy`` arrays) holding

- ``param/<name>``: every parameter of the model under its qualified name (``weight``,
  ``0.weight``, ``2.bias``, ...; see :func:`gradwise.nn.parameter_blocks`);
- ``preprocess/<name>``: the arrays of the fitted preprocessing (a per-pixel mean, say);
- ``__metadata__``: a 0-d unicode array with one JSON object: ``format``
  (``"gradwise-model"``), ``format_version``, ``gradwise_version``, ``architecture`` (the
  module tree), ``loss``, ``penalty``, ``classes``, ``input_shape``, ``preprocessing`` (its
  JSON part), ``training`` (configuration), ``data_fingerprint``, ``estimator`` (class and
  parameters, when an estimator saved it) and ``arrays``: the shape, dtype and SHA-256 of
  every array, so a file that was truncated, edited or mixed up is refused.

``architecture``, ``loss`` and ``penalty`` are what the objects' own ``describe()`` gives
(``{"type": "Linear", "in_features": 3072, "out_features": 10}``) and are rebuilt by
``nn.Module.rebuild``, ``nn.Criterion.rebuild`` and ``nn.Penalty.rebuild``, which build
registered classes only (:mod:`gradwise.nn.description`). So this module holds no table
of types, and a new layer, loss or penalty saves and loads without changing it.

Files are written to a temporary name in the destination folder and renamed, so a crash
never leaves half a file under the real name. The container (:mod:`gradwise.storage.archive`)
is the same for checkpoints (``format="gradwise-checkpoint"``).
"""

import hashlib
from dataclasses import dataclass, field

import numpy as np

from .. import nn
from ..errors import ModelFileError
from ..storage.archive import pack_tree, read_archive, unpack_tree, write_archive

MODEL_FORMAT = "gradwise-model"


# -- architecture -----------------------------------------------------------------------


def input_width(model):
    """Features the first :class:`~gradwise.nn.Linear` expects."""
    for m in model.modules():
        if isinstance(m, nn.Linear):
            return m.in_features
    raise ValueError(f"{type(model).__name__} has no Linear layer")


def output_width(model):
    """Scores the last :class:`~gradwise.nn.Linear` produces (the number of classes)."""
    width = None
    for m in model.modules():
        if isinstance(m, nn.Linear):
            width = m.out_features
    if width is None:
        raise ValueError(f"{type(model).__name__} has no Linear layer")
    return width


# -- model files ------------------------------------------------------------------------


@dataclass
class ModelFile:
    """What a model file holds, rebuilt: a ready ``model`` and everything around it."""

    model: nn.Module
    classes: list
    loss: object = None
    penalty: object = None
    input_shape: tuple | None = None
    preprocessing: dict | None = None
    training: dict = field(default_factory=dict)
    data_fingerprint: str | None = None
    estimator: dict | None = None
    metadata: dict = field(default_factory=dict)


def save_model(
    path,
    model,
    *,
    classes,
    loss=None,
    penalty=None,
    input_shape=None,
    preprocessing=None,
    training=None,
    data_fingerprint=None,
    estimator=None,
):
    """Write ``model`` and what it needs to be used again to ``path`` (``.npz``).

    ``classes`` names the model's outputs (one per score); ``input_shape`` is one input's
    shape before preprocessing (``(32, 32, 3)`` for CIFAR-10 images); ``preprocessing`` is
    a JSON tree that may hold arrays (saved under ``preprocess/``); ``training`` the
    configuration that produced the model; ``estimator`` ``{"class", "params"}``.
    """
    classes = [str(c) for c in classes]
    if len(classes) != output_width(model):
        raise ValueError(
            f"{len(classes)} class names for a model with {output_width(model)} outputs"
        )
    arrays = {}
    for name, module, attr in model.named_parameters():
        arrays[f"param/{name}"] = getattr(module, attr)
    metadata = {
        "architecture": model.describe(),
        "dtype": str(next(iter(arrays.values())).dtype),
        "loss": None if loss is None else loss.describe(),
        "penalty": None if penalty is None else penalty.describe(),
        "classes": classes,
        "input_shape": None if input_shape is None else [int(s) for s in input_shape],
        "preprocessing": None
        if preprocessing is None
        else pack_tree(preprocessing, arrays, "preprocess"),
        "training": training or {},
        "data_fingerprint": data_fingerprint,
        "estimator": estimator,
    }
    return write_archive(path, arrays, metadata, format=MODEL_FORMAT)


def load_model(path):
    """Read and check a model file; return a :class:`ModelFile` with the model rebuilt."""
    arrays, meta = read_archive(path, format=MODEL_FORMAT)
    try:
        return _rebuild(arrays, meta)
    except ModelFileError as err:
        raise ModelFileError(f"{path}: {err}") from None


#: How deeply the metadata may nest: a real file's is under ten levels deep (a Sequential's
#: layers, a preprocessing pipeline); a deeper one is refused before anything walks it.
MAX_METADATA_DEPTH = 64

#: The type each metadata entry must have (``None`` allowed where it may be absent).
_SCHEMA = {
    "dtype": (str,),  # architecture, loss, penalty: checked by the classes' rebuild
    "classes": (list,),
    "input_shape": (list, type(None)),
    "preprocessing": (dict, list, type(None)),
    "training": (dict, type(None)),
    "data_fingerprint": (str, type(None)),
    "estimator": (dict, type(None)),
}


def _check_metadata(meta, arrays):
    """The metadata's shape, types and bounds, checked before anything is built from it."""
    _check_depth(meta)
    for key, types in _SCHEMA.items():
        value = meta.get(key, "float32" if key == "dtype" else None)
        if key == "classes" and key not in meta:
            raise ModelFileError(f"the metadata lacks {key!r}")
        if not isinstance(value, types):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise ModelFileError(
                f"metadata entry {key!r} must be a {names}, got {type(value).__name__}"
            )
    for name, value in arrays.items():
        if name.startswith("param/") and value.ndim not in (1, 2):
            raise ModelFileError(f"parameter {name[6:]!r} has {value.ndim} dimensions, not 1 or 2")


def _check_depth(tree):
    """Refuse a tree nested deeper than ``MAX_METADATA_DEPTH`` (iteratively: no recursion)."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_METADATA_DEPTH:
            raise ModelFileError(
                f"the metadata is nested more than {MAX_METADATA_DEPTH} levels deep"
            )
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, dict | list):
            stack.extend((child, depth + 1) for child in children)


def _rebuild(arrays, meta):
    _check_metadata(meta, arrays)
    dtype = meta.get("dtype", "float32")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"parameters must be float32 or float64, the file says {dtype!r}")
    dtype = np.dtype(dtype)
    # Nothing larger than the file: the architecture may claim at most the parameter values
    # stored (each layer is also checked against its own arrays, shape by shape, below).
    stored = sum(a.size for name, a in arrays.items() if name.startswith("param/"))
    model = nn.Module.rebuild(meta.get("architecture"), dtype, max_parameters=stored)
    expected = set()
    for name, module, attr in model.named_parameters():
        key = f"param/{name}"
        expected.add(key)
        if key not in arrays:
            raise ModelFileError(f"the file lacks parameter {name!r} that its architecture needs")
        value, target = arrays[key], getattr(module, attr)
        if value.shape != target.shape or value.dtype != dtype:
            raise ModelFileError(
                f"parameter {name!r} has shape {value.shape} {value.dtype}, "
                f"the architecture needs {target.shape} {dtype}"
            )
        if not np.isfinite(value).all():
            raise ModelFileError(f"parameter {name!r} contains NaN or infinite values")
        target[...] = value
    unexpected = sorted(k for k in arrays if k.startswith("param/") and k not in expected)
    if unexpected:
        raise ModelFileError(
            f"the file holds parameters its architecture has no place for: {unexpected}"
        )
    nn.flatten(model)
    classes = meta.get("classes")
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise ModelFileError("'classes' must be a list of class names")
    if len(classes) != output_width(model):
        raise ModelFileError(f"{len(classes)} class names for {output_width(model)} model outputs")
    input_shape = meta.get("input_shape")
    if input_shape is not None:
        if not isinstance(input_shape, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in input_shape
        ):
            raise ModelFileError(
                f"'input_shape' must be a list of positive sizes, got {input_shape}"
            )
        input_shape = tuple(input_shape)
    preprocessing = meta.get("preprocessing")
    if preprocessing is not None:
        preprocessing = unpack_tree(preprocessing, arrays)
    return ModelFile(
        model=model,
        classes=classes,
        loss=None if meta.get("loss") is None else nn.Criterion.rebuild(meta["loss"]),
        penalty=None if meta.get("penalty") is None else nn.Penalty.rebuild(meta["penalty"]),
        input_shape=input_shape,
        preprocessing=preprocessing,
        training=meta.get("training") or {},
        data_fingerprint=meta.get("data_fingerprint"),
        estimator=meta.get("estimator"),
        metadata=meta,
    )


def fingerprint(*arrays):
    """``"sha256:<hex>"`` of the arrays' shapes, dtypes and bytes: which data trained a model."""
    digest = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(f"{a.shape}{a.dtype.str};".encode())
        digest.update(memoryview(a).cast("B"))
    return "sha256:" + digest.hexdigest()
