"""Optimizers racing on 2-D surfaces, as numbers: the surfaces (:mod:`.surfaces`) and the
paths the optimizers take on them (:mod:`.trajectories`). The pictures are drawn by
:func:`gradwise.plot.animate`."""

from . import surfaces
from .surfaces import SURFACES, Surface, get_surface
from .trajectories import (
    DEFAULTS,
    SurfaceDefaults,
    Trajectory,
    check_start,
    default_lr,
    default_optimizers,
    default_start,
    defaults_for,
    make_optimizer,
    make_surface,
    parse_optimizers,
    race,
    surface_names,
    trace,
)

__all__ = [
    "DEFAULTS",
    "SURFACES",
    "Surface",
    "SurfaceDefaults",
    "Trajectory",
    "check_start",
    "default_lr",
    "default_optimizers",
    "default_start",
    "defaults_for",
    "get_surface",
    "make_optimizer",
    "make_surface",
    "parse_optimizers",
    "race",
    "surface_names",
    "surfaces",
    "trace",
]
