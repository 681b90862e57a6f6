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

Files are written to a temporary name in the destination folder and renamed, so a crash
never leaves half a file under the real name. :func:`read_archive` / :func:`write_archive`
are the same container for checkpoints (``format="gradwise-checkpoint"``).
"""

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__, nn
from .errors import ModelFileError

MODEL_FORMAT = "gradwise-model"
FORMAT_VERSION = 1
METADATA_KEY = "__metadata__"

ACTIVATIONS = {"ReLU": nn.ReLU, "Tanh": nn.Tanh, "Sigmoid": nn.Sigmoid}
LOSSES = {"SoftmaxCrossEntropy": nn.SoftmaxCrossEntropy, "MulticlassHinge": nn.MulticlassHinge}
PENALTIES = {"L2": nn.L2, "L1": nn.L1, "ElasticNet": nn.ElasticNet}


# -- the container ----------------------------------------------------------------------


def write_archive(path, arrays, metadata, *, format, durable=True):
    """Write ``arrays`` (name -> ndarray) and the JSON ``metadata`` to ``path`` atomically.

    ``metadata`` gains ``format``, ``format_version``, ``gradwise_version`` and ``arrays``
    (shape, dtype and SHA-256 of each array). The rename makes the write atomic for a
    process that is killed; ``durable`` also flushes the file to disk before the rename
    (``fsync``), so it survives a power cut too (checkpoints, rewritten every few steps,
    skip that cost).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path.parent}: no such directory")
    arrays = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
    for name, a in arrays.items():
        if a.dtype.hasobject:
            raise TypeError(f"array {name!r} holds Python objects; only numeric arrays are saved")
    record = dict(metadata)
    record.update(
        format=format,
        format_version=FORMAT_VERSION,
        gradwise_version=__version__,
        arrays={name: _describe_array(a) for name, a in arrays.items()},
    )
    payload = dict(arrays)
    payload[METADATA_KEY] = np.array(json.dumps(record, allow_nan=True, sort_keys=True))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            np.savez(handle, **payload)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def read_archive(path, *, format, what="model file"):
    """``(arrays, metadata)`` of a file written by :func:`write_archive`, fully checked.

    Raises :class:`ModelFileError` (one clear line) if the file is missing, not an ``.npz``,
    corrupt, of another format or a newer format version, or if any array does not match
    the shape, dtype and checksum the metadata records.
    """
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{path}: is a directory, not a {what}")
    if not path.is_file():
        raise ModelFileError(f"{path}: no such {what}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            if METADATA_KEY not in names:
                raise ModelFileError(f"{path}: not a gradwise {what} (no metadata record)")
            arrays = {name: archive[name] for name in names}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as err:
        raise ModelFileError(f"{path}: not a readable gradwise {what} ({_reason(err)})") from None
    metadata = _parse_metadata(path, arrays.pop(METADATA_KEY), what)
    if metadata.get("format") != format:
        raise ModelFileError(
            f"{path}: is a {metadata.get('format', 'unknown')!r} file, not a {what} ({format!r})"
        )
    version = metadata.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: format version {version!r} is newer than this gradwise "
            f"({__version__}) reads (version {FORMAT_VERSION}); upgrade gradwise"
        )
    _check_arrays(path, arrays, metadata.get("arrays"))
    return arrays, metadata


def _reason(err):
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _parse_metadata(path, raw, what):
    if raw.ndim != 0 or raw.dtype.kind != "U":
        raise ModelFileError(f"{path}: the metadata record of this {what} is not text")
    try:
        metadata = json.loads(str(raw))
    except json.JSONDecodeError as err:
        raise ModelFileError(
            f"{path}: the metadata of this {what} is not valid JSON ({err})"
        ) from None
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{path}: the metadata of this {what} is not a JSON object")
    return metadata


def _describe_array(a):
    return {
        "shape": list(a.shape),
        "dtype": a.dtype.str,
        "sha256": hashlib.sha256(a.tobytes()).hexdigest(),
    }


def _check_arrays(path, arrays, described):
    if not isinstance(described, dict):
        raise ModelFileError(f"{path}: the metadata does not describe the file's arrays")
    if set(described) != set(arrays):
        missing = sorted(set(described) - set(arrays))
        extra = sorted(set(arrays) - set(described))
        raise ModelFileError(
            f"{path}: arrays do not match the metadata (missing {missing}, unexpected {extra})"
        )
    for name, a in arrays.items():
        if _describe_array(a) != described[name]:
            raise ModelFileError(
                f"{path}: array {name!r} does not match its recorded shape, dtype or checksum "
                "(the file was modified or is corrupt)"
            )


# -- JSON trees with arrays inside (optimizer state, preprocessing) ----------------------


def pack_tree(tree, arrays, prefix):
    """A JSON-able copy of ``tree`` with every array moved into ``arrays`` under ``prefix``.

    Dicts (string keys), lists, tuples (saved as lists), numbers, strings, booleans and
    ``None`` are kept; an ndarray or NumPy scalar becomes ``{"__array__": key}`` (plus
    ``"scalar": true`` for a NumPy scalar, restored with its exact dtype).
    """
    if isinstance(tree, np.ndarray | np.generic):
        arrays[prefix] = np.asarray(tree)
        ref = {"__array__": prefix}
        if isinstance(tree, np.generic):
            ref["scalar"] = True
        return ref
    if isinstance(tree, dict):
        packed = {}
        for key, value in tree.items():
            if not isinstance(key, str):
                raise TypeError(f"only string keys can be saved, got {key!r} under {prefix!r}")
            packed[key] = pack_tree(value, arrays, f"{prefix}/{key}")
        return packed
    if isinstance(tree, list | tuple):
        return [pack_tree(v, arrays, f"{prefix}/{i}") for i, v in enumerate(tree)]
    if tree is None or isinstance(tree, bool | int | float | str):
        return tree
    raise TypeError(f"cannot save a {type(tree).__name__} (under {prefix!r})")


def unpack_tree(tree, arrays):
    """Inverse of :func:`pack_tree`: array references become (copies of) the arrays."""
    if isinstance(tree, dict):
        if "__array__" in tree:
            key = tree["__array__"]
            if key not in arrays:
                raise ModelFileError(f"the file refers to an array {key!r} it does not hold")
            value = np.array(arrays[key], copy=True)
            return value[()] if tree.get("scalar") else value
        return {k: unpack_tree(v, arrays) for k, v in tree.items()}
    if isinstance(tree, list):
        return [unpack_tree(v, arrays) for v in tree]
    return tree


# -- architecture -----------------------------------------------------------------------


def describe_model(model):
    """The module tree of ``model`` as JSON: what :func:`build_model` rebuilds."""
    if isinstance(model, nn.Sequential):
        return {"type": "Sequential", "layers": [describe_model(m) for m in model.layers]}
    if isinstance(model, nn.Linear):
        return {
            "type": "Linear",
            "in_features": model.in_features,
            "out_features": model.out_features,
        }
    name = type(model).__name__
    if name in ACTIVATIONS and type(model) is ACTIVATIONS[name]:
        return {"type": name}
    raise TypeError(
        f"cannot save a {name} module: model files hold Linear, activations, Sequential"
    )


def build_model(spec, dtype=np.float32):
    """A fresh module tree (zero parameters) from :func:`describe_model`'s description."""
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise ModelFileError(f"architecture entry must be an object with a 'type', got {spec!r}")
    kind = spec["type"]
    if kind == "Sequential":
        layers = spec.get("layers")
        if not isinstance(layers, list) or not layers:
            raise ModelFileError("a Sequential architecture needs a non-empty 'layers' list")
        return nn.Sequential(*[build_model(s, dtype) for s in layers])
    if kind == "Linear":
        sizes = [spec.get("in_features"), spec.get("out_features")]
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in sizes):
            raise ModelFileError(f"a Linear layer needs positive integer sizes, got {sizes}")
        return nn.Linear(sizes[0], sizes[1], init="zeros", dtype=dtype)
    if kind in ACTIVATIONS:
        return ACTIVATIONS[kind]()
    raise ModelFileError(f"unknown layer type {kind!r} in the model's architecture")


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


def describe_loss(loss):
    if type(loss) is nn.SoftmaxCrossEntropy:
        return {"type": "SoftmaxCrossEntropy", "reduction": loss.reduction}
    if type(loss) is nn.MulticlassHinge:
        return {"type": "MulticlassHinge", "margin": loss.margin, "reduction": loss.reduction}
    raise TypeError(f"cannot save a {type(loss).__name__} loss")


def build_loss(spec):
    return _from_spec(LOSSES, spec or {}, "loss")


def describe_penalty(penalty):
    if penalty is None:
        return None
    spec = {
        "type": type(penalty).__name__,
        "lam": penalty.lam,
        "include_bias": penalty.include_bias,
    }
    if isinstance(penalty, nn.ElasticNet):
        spec["beta"] = penalty.beta
    if spec["type"] not in PENALTIES:
        raise TypeError(f"cannot save a {spec['type']} penalty")
    return spec


def build_penalty(spec):
    return None if spec is None else _from_spec(PENALTIES, spec, "penalty")


def _from_spec(kinds, spec, what):
    """``kinds[spec["type"]](**other keys)``; anything else is a :class:`ModelFileError`."""
    spec = dict(spec)
    kind = spec.pop("type", None)
    if kind not in kinds:
        raise ModelFileError(f"unknown {what} {kind!r} in the model file")
    try:
        return kinds[kind](**spec)
    except (TypeError, ValueError) as err:
        raise ModelFileError(f"bad {what} settings {spec} ({err})") from None


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
        "architecture": describe_model(model),
        "dtype": str(next(iter(arrays.values())).dtype),
        "loss": None if loss is None else describe_loss(loss),
        "penalty": describe_penalty(penalty),
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


def _rebuild(arrays, meta):
    dtype = np.dtype(meta.get("dtype", "float32"))
    if dtype not in (np.float32, np.float64):
        raise ModelFileError(f"parameters must be float32 or float64, the file says {dtype}")
    model = build_model(meta.get("architecture"), dtype)
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
        loss=None if meta.get("loss") is None else build_loss(meta["loss"]),
        penalty=build_penalty(meta.get("penalty")),
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
