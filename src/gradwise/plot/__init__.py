"""Pictures of models and runs: class templates, training curves, confusion matrices, and
optimizers racing on 2-D surfaces (the numbers for those come from gradwise.landscape).

Every function writes one image file (PNG, SVG, PDF or JPEG by the path's suffix) and
returns its path; the numbers behind each picture come from a function of their own
(:func:`template_images`, :func:`smooth`, :func:`row_rates`) so they can be checked.
Everything draws on matplotlib's Agg canvas: no screen needed. Colours are one
colour-blind-safe palette in which each optimizer name has one colour (:func:`color_of`).
"""

from .confusion import accuracy_of, confusion_matrix, row_rates
from .curves import curves_of, smooth, training_curves
from .inline import Animation, race_animation
from .race import VIEWS, animate, animate_race, frame_steps
from .style import OKABE_ITO, color_of, colors_for, optimizer_color, save_figure
from .templates import class_templates, linear_weight, template_images

__all__ = [
    "OKABE_ITO",
    "Animation",
    "accuracy_of",
    "VIEWS",
    "animate",
    "animate_race",
    "class_templates",
    "color_of",
    "colors_for",
    "optimizer_color",
    "race_animation",
    "confusion_matrix",
    "curves_of",
    "frame_steps",
    "linear_weight",
    "row_rates",
    "save_figure",
    "smooth",
    "template_images",
    "training_curves",
]
