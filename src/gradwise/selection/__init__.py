"""Choosing hyperparameters on validation data: search spaces (:mod:`.space`), grid and
random search (:mod:`.search`), the trial log that makes a search resumable
(:mod:`.trial_log`) and where trials run (:mod:`.executors`)."""

from .executors import EXECUTORS, get_executor
from .search import GridSearch, RandomSearch, Search, stratified_subset, validation_splits
from .space import Choice, LogUniform, Uniform, make_space, parse_dimension

__all__ = [
    "EXECUTORS",
    "Choice",
    "GridSearch",
    "LogUniform",
    "RandomSearch",
    "Search",
    "Uniform",
    "get_executor",
    "make_space",
    "parse_dimension",
    "stratified_subset",
    "validation_splits",
]
