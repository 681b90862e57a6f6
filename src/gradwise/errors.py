"""The exceptions gradwise raises on purpose.

Every error a user can cause is raised at the boundary, with a message that says what was
wrong and what to do. They subclass the built-in exception a Python user would expect, so
``except ValueError`` keeps working.
"""


class GradwiseError(Exception):
    """Base class of every error gradwise raises on purpose."""


class DataError(GradwiseError, ValueError):
    """A dataset, archive or image that cannot be read or trusted."""


class ModelFileError(GradwiseError, ValueError):
    """A model or checkpoint file that cannot be read or trusted."""


class DivergenceError(GradwiseError, FloatingPointError):
    """A loss or gradient became NaN or infinite."""
