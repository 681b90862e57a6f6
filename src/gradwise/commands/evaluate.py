"""``gradwise evaluate MODEL``: accuracy, per-class accuracy and the confusion matrix.

MODEL is a model file or a run folder of ``gradwise train``. The data default to the
dataset the model was trained on (recorded in the model file); ``--split`` picks the test
(default) or training images. The confusion matrix has one row per true class and one
column per predicted class.
"""

from pathlib import Path

import numpy as np

from ..errors import DataError
from ..storage.atomic import write_json
from ._files import add_overwrite_argument, check_targets


def register(subparsers):
    p = subparsers.add_parser(
        "evaluate",
        help="accuracy, per-class accuracy and confusion matrix of a trained model",
        description="Evaluate a model file (or run folder) on a dataset split.",
    )
    p.add_argument("model", type=Path, metavar="MODEL", help="model.npz or a run folder")
    p.add_argument("--data", help="dataset name or path (default: the one it was trained on)")
    p.add_argument("--split", choices=("test", "train"), default="test")
    p.add_argument("--plot", type=Path, metavar="PNG", help="also draw the confusion matrix")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the numbers as JSON")
    add_overwrite_argument(p)
    p.set_defaults(func=run)


def run(args):
    from ..estimators import load as load_classifier

    model_file = args.model / "model.npz" if args.model.is_dir() else args.model
    targets = [path for path in (args.json, args.plot) if path is not None]
    check_targets(targets, args.overwrite, inputs=[model_file])
    if args.json is not None and args.plot is not None and args.json == args.plot:
        raise ValueError(f"--json and --plot both name {args.json}")
    clf = load_classifier(args.model)
    data = args.data or clf.training_.get("data")
    if not data:
        raise ValueError(f"{args.model} does not record its dataset: pass --data")
    X, labels = load_split(data, args.split, clf)
    result = evaluate_classifier(clf, X, labels)
    print_report(result, data, args.split)
    if args.json:
        write_json(args.json, result)
    if args.plot:
        from ..plot import confusion_matrix

        confusion_matrix(np.asarray(result["confusion"]), result["classes"], args.plot)
        print(f"wrote {args.plot}")
    return 0


def load_split(data, split, clf):
    """``(X, labels)`` of ``split`` of dataset ``data``, checked against the model.

    Labels are given as the model's class labels; a dataset whose images have another shape,
    or whose classes the model does not know, is refused with one clear error.
    """
    from ..data import load

    ds = load(data)
    shape = tuple(ds.input_shape)
    if shape != tuple(clf.input_shape_):
        raise DataError(
            f"the model takes inputs of shape {_shape(clf.input_shape_)}, "
            f"but {data!r} holds {_shape(shape)}"
        )
    X = ds.X_test if split == "test" else ds.X_train
    y = ds.y_test if split == "test" else ds.y_train
    if len(y) == 0:
        raise DataError(f"{data!r} has no {split} examples")
    names = np.asarray(ds.classes)[y]
    known = {str(c) for c in clf.classes_}
    unknown = sorted(set(ds.classes) - known)
    if unknown:
        raise DataError(f"{data!r} has classes the model does not know: {', '.join(unknown)}")
    by_name = {str(c): c for c in clf.classes_}
    return X, np.asarray([by_name[n] for n in names.tolist()])


def _shape(shape):
    return "x".join(str(s) for s in shape)


def evaluate_classifier(clf, X, labels):
    """Accuracy, per-class accuracy and confusion matrix (rows: true, columns: predicted)."""
    classes = [str(c) for c in clf.classes_]
    index = {c: i for i, c in enumerate(clf.classes_.tolist())}
    true = np.array([index[v] for v in np.asarray(labels).tolist()], dtype=np.int64)
    pred = np.argmax(clf.decision_function(X), axis=1)
    k = len(classes)
    confusion = np.bincount(true * k + pred, minlength=k * k).reshape(k, k)
    support = confusion.sum(axis=1)
    per_class = {
        c: (float(confusion[i, i] / support[i]) if support[i] else None)
        for i, c in enumerate(classes)
    }
    return {
        "accuracy": float(np.mean(pred == true)),
        "n": int(len(true)),
        "classes": classes,
        "per_class_accuracy": per_class,
        "support": {c: int(s) for c, s in zip(classes, support, strict=True)},
        "confusion": confusion.tolist(),
    }


def print_report(result, data, split):
    classes = result["classes"]
    print(f"{data} {split}: accuracy {result['accuracy']:.4f} ({result['n']} examples)")
    width = max(8, max(len(c) for c in classes))
    print(f"\n{'class':<{width}}  accuracy  support")
    for c in classes:
        acc = result["per_class_accuracy"][c]
        shown = "     -  " if acc is None else f"{acc:8.4f}"
        print(f"{c:<{width}}  {shown}  {result['support'][c]:>7}")
    print("\nconfusion matrix (rows: true class, columns: predicted class)")
    cell = max(5, len(str(max(max(r) for r in result["confusion"]))) + 1)
    abbrev = [c[: cell - 1] for c in classes]
    print(" " * width + "".join(f"{a:>{cell}}" for a in abbrev))
    for c, row in zip(classes, result["confusion"], strict=True):
        print(f"{c:<{width}}" + "".join(f"{v:>{cell}}" for v in row))
