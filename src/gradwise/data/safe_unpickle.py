"""A pickle reader that admits only what the official CIFAR-10 batches contain.

The batches of ``cifar-10-python.tar.gz`` are Python 2 pickles (protocol 2) of a dict of
byte strings, lists, ints and one NumPy array. Unpickling one needs exactly three globals:
NumPy's array reconstructor (``numpy.core.multiarray._reconstruct``, spelt
``numpy._core.multiarray._reconstruct`` by NumPy 2), ``numpy.ndarray`` and ``numpy.dtype``.
Any other global (``os.system``, ``builtins.eval``, ``subprocess.Popen``, ...) is refused
*before* it is looked up, so a hostile pickle cannot run anything. Persistent ids are refused
too. Byte strings stay ``bytes`` (``encoding="bytes"``), as in the official Python 3 recipe.

This reader is used only on an archive whose MD5 already matched; it is a second wall, not
the first.
"""

import io
import pickle

import numpy as np

from ..errors import DataError

# The reconstructor NumPy uses for ndarray pickles, whatever module it lives in this version.
_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]

ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An :class:`pickle.Unpickler` whose only globals are :data:`ALLOWED_GLOBALS`."""

    def find_class(self, module, name):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise DataError(
                f"refusing to unpickle {module}.{name}: only NumPy arrays and builtin "
                "values are allowed in a CIFAR-10 batch"
            ) from None

    def persistent_load(self, pid):
        raise DataError("refusing to unpickle a persistent id in a CIFAR-10 batch")


def restricted_loads(data: bytes, *, label="pickle"):
    """Unpickle ``data`` with :class:`RestrictedUnpickler`; any failure is a :class:`DataError`."""
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except DataError as err:
        raise DataError(f"{label}: {err}") from None
    except Exception as err:  # noqa: BLE001 - a corrupt pickle can fail in many ways
        raise DataError(
            f"{label}: not a readable CIFAR-10 batch ({type(err).__name__}: {err})"
        ) from err
