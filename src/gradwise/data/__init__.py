"""gradwise.data: datasets, the decoded-array cache, preprocessing and splits.

``load(name_or_path)`` returns a :class:`Dataset` (``X_train, y_train, X_test, y_test``,
``classes``, ``source``). Names: ``cifar10`` (official archive), ``cifar10-sample`` and
``digits`` (packaged), ``spiral`` and ``blobs`` (synthetic); a path loads the official
CIFAR-10 archive, a cache entry folder or an image folder (``<split>/<class>/<image>`` in a
directory, tar or zip). :class:`ImageFeatures` makes a fitted pipeline's features a
minibatch at a time from uint8 images (:mod:`gradwise.data.augment` changes them first).
"""

from ._text import printable
from .cache import clear_cache, gradwise_home
from .cifar10 import CLASSES as CIFAR10_CLASSES
from .cifar10 import OFFICIAL_MD5, OFFICIAL_URL, load_cifar10
from .dataset import Dataset
from .features import ImageFeatures
from .image_folder import load_image_folder
from .loading import DATASETS, load
from .packaged import load_cifar10_sample, load_digits
from .split import kfold, stratified_split_indices, train_val_split
from .synthetic import make_blobs, make_spiral
from .transforms import (
    BiasTrick,
    Flatten,
    MeanSubtraction,
    Pipeline,
    Standardize,
    ToFloat32,
    Transform,
    preprocessing,
    transform_from_dict,
)

__all__ = [
    "CIFAR10_CLASSES",
    "DATASETS",
    "printable",
    "OFFICIAL_MD5",
    "OFFICIAL_URL",
    "BiasTrick",
    "Dataset",
    "Flatten",
    "ImageFeatures",
    "MeanSubtraction",
    "Pipeline",
    "Standardize",
    "ToFloat32",
    "Transform",
    "clear_cache",
    "gradwise_home",
    "kfold",
    "load",
    "load_cifar10",
    "load_cifar10_sample",
    "load_digits",
    "load_image_folder",
    "make_blobs",
    "make_spiral",
    "preprocessing",
    "stratified_split_indices",
    "train_val_split",
    "transform_from_dict",
]
