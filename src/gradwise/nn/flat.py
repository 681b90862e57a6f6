"""One flat parameter vector for a whole model (torch7's ``getParameters()``).

After ``x, g = flatten(model)`` every parameter and gradient of every module is a *view*
into ``x`` and ``g``: writing into ``x`` changes the model, ``backward`` writes into ``g``.
Optimizers, gradient checks, line searches and checkpoints then see one vector only.
"""

import numpy as np


def flatten(model, dtype=None):
    """Move the parameters of ``model`` into one contiguous vector; return ``(x, g)``.

    Layout: module by module (depth first), each module's parameters in ``param_names``
    order (``weight`` then ``bias``), each in C order. ``dtype`` (float32 or float64)
    defaults to the parameters' own. Calling it again returns the same two arrays unless a
    different ``dtype`` is asked for, in which case the values are converted.
    """
    entries = list(model.named_parameters())
    if not entries:
        raise ValueError(f"{type(model).__name__} has no parameters to flatten")
    first = getattr(entries[0][1], entries[0][2])
    dtype = np.dtype(dtype or first.dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    existing = getattr(model, "_flat", None)
    if existing is not None and existing[0].dtype == dtype and _still_views(model, existing):
        return existing

    size = sum(getattr(m, name).size for _, m, name in entries)
    x = np.empty(size, dtype=dtype)
    g = np.zeros(size, dtype=dtype)
    offset = 0
    for _, m, name in entries:
        param = getattr(m, name)
        view = x[offset : offset + param.size].reshape(param.shape)
        view[...] = param
        setattr(m, name, view)
        setattr(m, "grad_" + name, g[offset : offset + param.size].reshape(param.shape))
        offset += param.size
    model._flat = (x, g)
    return x, g


def parameter_blocks(model):
    """``[(qualified_name, slice), ...]``: where each parameter lives in the flat vector."""
    blocks, offset = [], 0
    for qualified, m, name in model.named_parameters():
        size = getattr(m, name).size
        blocks.append((qualified, slice(offset, offset + size)))
        offset += size
    return blocks


def _still_views(model, flat):
    x = flat[0]
    return all(np.shares_memory(getattr(m, n), x) for _, m, n in model.named_parameters())
