"""The training loop: ``fit(model, loss, (X, y), optimizer, ...) -> History``.

One epoch is one pass over the training rows in an order drawn at the epoch's start from
``np.random.default_rng(seed)``:

- ``sampling="shuffle"``: ``order = rng.permutation(N)``, cut into ``ceil(N / B)`` minibatches
  of ``B = batch_size`` rows (the last one may be shorter), as PyTorch's
  ``DataLoader(shuffle=True)``;
- ``sampling="replacement"``: ``order = rng.integers(0, N, ceil(N / B) * B)``, every
  minibatch ``B`` rows drawn with replacement;
- ``batch_size=None``: full batch; one step per epoch on all rows, no randomness (what
  L-BFGS and Newton want).

Each minibatch is gathered into one preallocated buffer (``np.take(X, rows, out=...)``) and
handed to one reused :class:`~gradwise.calculus.objective.Objective` (``set_data``), so a step
allocates no training-matrix-sized memory. ``X`` may be a row source instead of an array
(:class:`gradwise.data.features.ImageFeatures`: uint8 images and the fitted preprocessing):
each minibatch is then gathered as uint8 and converted into that buffer (``take_into``),
and whole-set passes convert block by block, so the float features are never held whole.
Its augmentation's random choices for an epoch are drawn right after the epoch's order.
Each step calls ``optimizer.step(f, x)`` on the model's flat parameter vector ``x`` and
records the minibatch objective and the learning rate. After each epoch the objective (data
loss + penalty) and accuracy are measured on the whole training set
(and on ``val``) with the epoch's final weights.

Everything random is drawn at an epoch's start, so the generator's state at that moment,
the step reached inside the epoch, ``x`` and the optimizer's state are all a run needs to
continue: :class:`gradwise.training.callbacks.Checkpoint` saves them and ``resume=`` continues a run
that ends with exactly the weights of an uninterrupted one.

A non-finite loss stops training: the weights go back to the last point whose loss was
finite and :class:`~gradwise.errors.DivergenceError` is raised, naming the step, the epoch
and the learning rate; its ``history`` attribute holds the run up to there.
"""

import copy
import math
import sys
import time

import numpy as np

from .._validate import choice
from ..calculus.fused import FusedLinearLoss, is_row_source
from ..calculus.objective import objective
from ..errors import DataError, DivergenceError
from ..nn.flat import flatten
from .history import History

SAMPLINGS = ("shuffle", "replacement")

# Rows per forward pass when measuring a whole split: bounds the memory a hidden layer's
# activations take (rows x hidden units) whatever the size of the data.
EVAL_ROWS = 4096
# evaluate's scores are computed this many bytes of features at a time (as the fused pass's
# blocks are), so a row source's converted piece is still in cache for its product.
FORWARD_BYTES = 4 * 2**20


class TrainingRun:
    """The state of a running :func:`fit`, as callbacks see it.

    ``epoch`` counts completed epochs; ``step`` counts steps taken (over the whole run) and
    ``step_in_epoch`` those of the current epoch; ``epoch_rng_state`` is the generator's state
    from which the current epoch's order was drawn (the next epoch's, between epochs).
    ``objective`` is the one :class:`~gradwise.calculus.objective.Objective` every step
    evaluates (its ``X``, ``y`` are the current minibatch). A callback stops training by setting
    ``stop_training = True`` (and ``stop_reason``).
    """

    def __init__(self, model, loss, optimizer, penalty, x, history, config, rng):
        self.model, self.loss, self.optimizer, self.penalty = model, loss, optimizer, penalty
        self.x = x
        self.history = history
        self.config = config
        self.rng = rng
        self.epoch = 0
        self.step = 0
        self.step_in_epoch = 0
        self.epoch_rng_state = rng.bit_generator.state
        self.stop_training = False
        self.stop_reason = None
        self.callbacks = ()
        self.objective = None
        self.evaluations = 0
        self.epoch_loss_sum = 0.0

    def checkpoint_state(self):
        """Everything :func:`fit` needs to continue this run exactly (see ``resume=``)."""
        return {
            "x": self.x,
            "optimizer": self.optimizer.state_dict(),
            "rng_state": self.epoch_rng_state,
            "epoch": self.epoch,
            "step": self.step,
            "step_in_epoch": self.step_in_epoch,
            "evaluations": self.evaluations,
            "epoch_loss_sum": self.epoch_loss_sum,
            "history": self.history.to_dict(),
            "callbacks": [
                {"type": type(cb).__name__, "state": cb.state_dict()} for cb in self.callbacks
            ],
            "config": self.config,
        }


def fit(
    model,
    loss,
    data,
    optimizer,
    *,
    penalty=None,
    epochs=1,
    batch_size=None,
    schedule=None,
    sampling="shuffle",
    seed=0,
    callbacks=(),
    val=None,
    resume=None,
    progress=None,
    evaluate_train=True,
):
    """Train ``model`` on ``data = (X, y)`` with ``optimizer``; return a :class:`History`.

    ``X`` is (N, D) features (converted once to the model's dtype if it differs) or a row
    source of the model's dtype (:class:`gradwise.data.features.ImageFeatures`, whose
    augmentation, if any, needs minibatches), ``y`` (N,) class indices.
    The objective is ``loss(model(X_batch), y_batch) + penalty(model)``.
    ``schedule`` (a callable ``t -> lr``, ``t`` = steps taken so far) replaces the optimizer's
    ``lr``. ``val = (X_val, y_val)`` adds validation loss and accuracy to each epoch record.
    ``callbacks`` see every step and epoch (:mod:`gradwise.training.callbacks`). ``resume`` (a
    checkpoint path or a loaded :class:`gradwise.training.checkpoint.CheckpointState`) continues an
    interrupted run; ``epochs`` is the total, counting the epochs already done. ``progress``
    shows a tqdm bar (``None``: only when stderr is a terminal). With
    ``evaluate_train=False`` an epoch's ``train_loss`` is the mean of its minibatch losses and
    ``train_acc`` is ``None`` (no extra pass over the data).
    """
    _check_count("epochs", epochs, minimum=0)
    if batch_size is not None:
        _check_count("batch_size", batch_size, minimum=1)
    choice("sampling", sampling, SAMPLINGS)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    x, _ = flatten(model)
    check_size = getattr(optimizer, "check_size", None)  # any object with step() will do
    if check_size is not None:
        check_size(x.size, x.dtype)  # a dense n x n matrix that would not fit, say
    n_classes = _output_width(model)
    X, y = _check_data("data", data, x.dtype, n_classes)
    val = None if val is None else _check_data("val", val, x.dtype, n_classes)
    if batch_size is None and getattr(X, "augmentation", None) is not None:
        raise ValueError(
            "random augmentation changes the images at every minibatch, and a full-batch "
            "method needs the same objective at every step: train without it, or with "
            "augment='mirror-copies'"
        )
    if isinstance(optimizer, str):
        _check_optimizer(optimizer)  # a name, not an optimizer: say so before anything else
    if schedule is not None:
        if not callable(schedule):
            raise TypeError(f"schedule must be a callable t -> lr, got {type(schedule).__name__}")
        if not hasattr(optimizer, "lr"):
            raise ValueError(f"{type(optimizer).__name__} has no learning rate to schedule")
        optimizer.lr = schedule
    _check_optimizer(optimizer)

    n = len(y)
    rows = n if batch_size is None else min(int(batch_size), n)
    config = {
        "batch_size": None if batch_size is None else int(batch_size),
        "sampling": sampling,
        "seed": int(seed),
        "n_train": int(n),
        "n_features": int(X.shape[1]),
        "n_parameters": int(x.size),
        "dtype": str(x.dtype),
        "optimizer": type(optimizer).__name__,
    }
    rng = np.random.default_rng(seed)
    run = TrainingRun(model, loss, optimizer, penalty, x, History(), config, rng)
    run.callbacks = tuple(callbacks)
    if resume is not None:
        _restore(run, resume)

    f = run.objective = objective(model, loss, X[:rows], y[:rows], penalty)
    batches = _Minibatches(X, y, rows, sampling, full=batch_size is None)
    last_good = _LastGood(x, optimizer)
    steps_per_epoch = batches.steps_per_epoch
    bar = _progress_bar(progress, total=epochs * steps_per_epoch, done=run.step)
    for cb in run.callbacks:
        cb.on_train_begin(run)
    try:
        # Overflow is detected (and reported as a divergence), not warned about.
        with np.errstate(over="ignore", invalid="ignore"):
            while run.epoch < epochs and not run.stop_training:
                started = time.perf_counter()
                order, choices = batches.draw_order(run.rng, run)
                for s in range(run.step_in_epoch, steps_per_epoch):
                    _take_step(run, f, batches, order, choices, s, last_good)
                    bar.update(1)
                    if run.stop_training:
                        break
                if run.step_in_epoch < steps_per_epoch:
                    break  # a callback stopped the run mid-epoch
                record = _checked_epoch_record(
                    run, f, X, y, val, evaluate_train, steps_per_epoch, last_good
                )
                record["seconds"] = time.perf_counter() - started
                _end_epoch(run, record)
                bar.set_postfix_str(_postfix(record), refresh=False)
        run.history.stop_reason = run.stop_reason or "completed"
        for cb in run.callbacks:
            cb.on_train_end(run)
    finally:
        bar.close()
    return run.history


def _take_step(run, f, batches, order, choices, s, last_good):
    """Step ``s`` of the epoch: load its minibatch, ``optimizer.step``, record, callbacks."""
    batches.load(f, order, choices, s)
    lr = _current_lr(run.optimizer)
    last_good.remember(run.x)
    calls = f.calls
    try:
        value = float(run.optimizer.step(f, run.x))
    except (DivergenceError, ValueError, FloatingPointError) as err:
        _stop_on_divergence(run, f, last_good, lr, err)
    if not math.isfinite(value):
        _stop_on_divergence(run, f, last_good, lr, None)
    run.evaluations += f.calls - calls
    run.epoch_loss_sum += value
    run.history.loss.append(value)
    run.history.lr.append(lr)
    run.step += 1
    run.step_in_epoch = s + 1
    for cb in run.callbacks:
        cb.on_step_end(run)


def _end_epoch(run, record):
    run.history.epochs.append(record)
    run.epoch += 1
    run.step_in_epoch = 0
    run.epoch_loss_sum = 0.0
    run.epoch_rng_state = run.rng.bit_generator.state
    for cb in run.callbacks:
        cb.on_epoch_end(run, record)


def _check_optimizer(optimizer):
    if not callable(getattr(optimizer, "step", None)):
        hint = f"; build one with gw.optim.get({optimizer!r})" if isinstance(optimizer, str) else ""
        shown = repr(optimizer)[:100]
        raise TypeError(
            f"optimizer must be an object with step(f, x), got {type(optimizer).__name__} "
            f"{shown}{hint}"
        )


def _check_count(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def _output_width(model):
    width = None
    for m in model.modules():
        width = getattr(m, "out_features", width)
    return width


def _check_data(name, data, dtype, n_classes):
    try:
        X, y = data
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a pair (X, y)") from None
    source = is_row_source(X)
    X = X if source else np.asarray(X)
    y = np.asarray(y)
    if len(X.shape) != 2:
        raise ValueError(f"{name}: X must be 2-D (N, D) features, got shape {X.shape}")
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(
            f"{name}: y must be 1-D with one label per row of X ({len(X)}), got {y.shape}"
        )
    if len(y) == 0:
        raise ValueError(f"{name}: no rows")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name}: labels must be integers (class indices), got {y.dtype}")
    if y.min() < 0 or (n_classes is not None and y.max() >= n_classes):
        bad = y.min() if y.min() < 0 else y.max()
        raise ValueError(f"{name}: label {bad} is out of range for {n_classes} classes")
    if source:
        if X.dtype != dtype:
            raise TypeError(f"{name}: the row source makes {X.dtype} rows, the model is {dtype}")
        X.check_finite(name)
        return X, y.astype(np.int64, copy=False)
    # One conversion up front (none if X already has the model's dtype), never per step.
    X = np.ascontiguousarray(X, dtype=dtype)
    _check_finite(name, X)
    return X, y.astype(np.int64, copy=False)


def _check_finite(name, X):
    """Refuse NaN or Inf in the features (else the first step would look like a divergence),
    naming the first one.

    One matrix-vector product finds the suspects at the speed of a BLAS pass: a row holding
    NaN or Inf has a non-finite sum. Only those rows are looked at element by element (a
    row of huge finite values can overflow its sum without holding a bad value).
    """
    if X.size == 0:
        return
    with np.errstate(over="ignore", invalid="ignore"):
        sums = X @ np.ones(X.shape[1], dtype=X.dtype)
    for row in np.flatnonzero(~np.isfinite(sums)):
        bad = np.flatnonzero(~np.isfinite(X[row]))
        if bad.size:
            column = int(bad[0])
            raise DataError(
                f"{name}: X holds NaN or Inf (the first, {X[row, column]}, at row {row}, "
                f"column {column}); clean or drop those rows before training"
            )


class _Minibatches:
    """The epoch's row order and the preallocated buffers each minibatch is gathered into."""

    def __init__(self, X, y, rows, sampling, full):
        self.X, self.y, self.rows, self.sampling, self.full = X, y, rows, sampling, full
        self.source = is_row_source(X)
        self.loaded = False
        n = len(y)
        self.steps_per_epoch = 1 if full else -(-n // rows)
        if full:
            return
        self.X_buffer = np.empty((rows, X.shape[1]), dtype=X.dtype)
        self.y_buffer = np.empty(rows, dtype=np.int64)
        # The short last minibatch of a shuffled epoch gets views made once, here.
        tail = n - (self.steps_per_epoch - 1) * rows if sampling == "shuffle" else rows
        self.views = {rows: (self.X_buffer, self.y_buffer)}
        self.views[tail] = (self.X_buffer[:tail], self.y_buffer[:tail])

    def draw_order(self, rng, run):
        """This epoch's row order and a row source's augmentation choices for it (``None``
        without); the generator's state before drawing goes to ``run``."""
        run.epoch_rng_state = rng.bit_generator.state
        if self.full:
            return None, None
        n = len(self.y)
        if self.sampling == "shuffle":
            order = rng.permutation(n)
        else:
            order = rng.integers(0, n, size=self.steps_per_epoch * self.rows)
        return order, self.X.draw(rng, len(order)) if self.source else None

    def load(self, f, order, choices, s):
        """Point ``f`` at minibatch ``s`` of ``order`` (the whole set for full batch)."""
        if self.full:
            if not self.loaded:  # once: set_data may turn a row source into an array
                f.set_data(self.X, self.y)
                self.loaded = True
            return
        part = slice(s * self.rows, (s + 1) * self.rows)
        index = order[part]
        Xb, yb = self.views[len(index)]
        if self.source:
            self.X.take_into(index, Xb, None if choices is None else choices[part])
        else:
            np.take(self.X, index, axis=0, out=Xb)
        np.take(self.y, index, out=yb)
        if f.X is not Xb:
            f.set_data(Xb, yb)


class _LastGood:
    """The parameters and optimizer state before the last successful step, kept without
    per-step allocation of parameter-sized memory.

    Two slots alternate: before each step ``x`` (and the optimizer's state, arrays copied
    into reused buffers) is copied into one of them; if the step leaves a non-finite loss,
    the other holds the point the previous step started from, the last one whose loss was
    finite, with the optimizer state that goes with it.

    The state is copied only while it is small next to ``x`` (at most
    ``STATE_COPY_FACTOR`` times its size: every first-order method's buffers, L-BFGS's
    history of up to 128 pairs). A dense BFGS matrix is not copied twice a step: after a
    divergence such a method keeps the state its last step left, with the last good ``x``.
    """

    STATE_COPY_FACTOR = 256

    def __init__(self, x, optimizer=None):
        self.buffers = (np.empty_like(x), np.empty_like(x))
        self.states = [None, None]
        has_state = callable(getattr(optimizer, "state_dict", None)) and callable(
            getattr(optimizer, "load_state_dict", None)
        )
        self.optimizer = optimizer if has_state else None
        self.count = 0

    def remember(self, x):
        slot = self.count % 2
        np.copyto(self.buffers[slot], x)
        if self.optimizer is not None:
            state = getattr(self.optimizer, "state", None)
            if not isinstance(state, dict):
                state = self.optimizer.state_dict()
            stored = sum(v.size for v in state.values() if isinstance(v, np.ndarray))
            small = stored <= self.STATE_COPY_FACTOR * x.size
            self.states[slot] = _copy_state(state, self.states[slot]) if small else None
        self.count += 1

    def restore(self, x, slot):
        """Put slot ``slot``'s parameters into ``x`` and its state into the optimizer."""
        np.copyto(x, self.buffers[slot])
        if self.optimizer is not None and self.states[slot] is not None:
            self.optimizer.load_state_dict(self.states[slot])

    def restore_before_failed_step(self, x):
        """Back to the start of the last step taken (its loss was finite when it began)."""
        self.restore(x, (self.count - 1) % 2)

    def restore_last_good(self, x):
        """Back to where the step before the failing one started (the failing step's own
        start had a non-finite loss), or to the failing step's start if it was the first."""
        self.restore(x, self.count % 2 if self.count >= 2 else (self.count - 1) % 2)


def _copy_state(state, previous):
    """A copy of an optimizer's state, its arrays copied into ``previous``'s where they fit."""
    out = {}
    for key, value in state.items():
        old = None if previous is None else previous.get(key)
        if isinstance(value, np.ndarray):
            if (
                isinstance(old, np.ndarray)
                and old.shape == value.shape
                and old.dtype == value.dtype
            ):
                np.copyto(old, value)
                out[key] = old
            else:
                out[key] = value.copy()
        else:
            out[key] = copy.deepcopy(value)
    return out


def _current_lr(optimizer):
    lr = getattr(optimizer, "lr", None)
    if lr is None:
        return math.nan
    return float(optimizer.resolve(lr)) if hasattr(optimizer, "resolve") else float(lr)


def _stop_on_divergence(run, f, last_good, lr, err, *, at_epoch_end=False):
    """Restore the last weights with a finite loss and raise :class:`DivergenceError`.

    The failing step started at a point whose loss was not finite (the step raised, or
    returned that loss), so the last good point is where the step before it started.
    ``at_epoch_end``: the epoch's measurement found the loss not finite where the last step
    ended (a full-batch run meets it there), so the last good point is where that step
    started; the step reported is the next one, which would start from there, as above.
    """
    if err is not None and not isinstance(err, DivergenceError) and not _non_finite(run, f):
        raise err  # an ordinary ValueError (bad labels, say), not a divergence
    # The weights and the optimizer state go back together.
    if at_epoch_end:
        last_good.restore_before_failed_step(run.x)
    else:
        last_good.restore_last_good(run.x)
    step, epoch = run.step + 1, run.epoch + 1
    where = f"step {step} (epoch {epoch}" + (f", lr={lr:g})" if math.isfinite(lr) else ")")
    advice = f", e.g. lr={lr / 10:g}" if math.isfinite(lr) else ""
    message = (
        f"training diverged at {where}: the loss became NaN or infinite; the last weights "
        f"with a finite loss were kept. Try a smaller learning rate{advice}"
    )
    run.history.stop_reason = run.stop_reason = "diverged"
    run.history.message = message
    for cb in run.callbacks:
        cb.on_train_end(run)
    error = DivergenceError(message)
    error.history = run.history
    error.step, error.epoch, error.lr = step, epoch, lr
    raise error from err


def _non_finite(run, f, *splits):
    """True when the failure comes from non-finite numbers: the weights, or the scores of
    ``f``'s rows (or of every split's rows, ``EVAL_ROWS`` at a time)."""
    if not np.isfinite(run.x).all():
        return True
    with np.errstate(all="ignore"):
        for X in splits or (f.X,):
            for _, block in row_blocks(X, EVAL_ROWS):
                if not np.isfinite(run.model.forward(block)).all():
                    return True
    return False


def _checked_epoch_record(run, f, X, y, val, evaluate_train, steps_per_epoch, last_good):
    """The epoch's record; a divergence (see :func:`_stop_on_divergence`) when the loss
    where the last step ended is not finite, as a full-batch step's can only be seen here."""
    lr = run.history.lr[-1] if run.history.lr else _current_lr(run.optimizer)
    splits = (X,) if val is None else (X, val[0])
    try:
        record = _epoch_record(run, X, y, val, evaluate_train, steps_per_epoch)
    except (ValueError, FloatingPointError):
        if not _non_finite(run, f, *splits):
            raise
        _stop_on_divergence(run, f, last_good, lr, None, at_epoch_end=True)
    if not math.isfinite(record["train_loss"]):
        _stop_on_divergence(run, f, last_good, lr, None, at_epoch_end=True)
    return record


def _epoch_record(run, X, y, val, evaluate_train, steps_per_epoch):
    record = {"epoch": run.epoch + 1}
    if evaluate_train:
        record["train_loss"], record["train_acc"] = evaluate(run.model, run.loss, X, y, run.penalty)
    else:
        record["train_loss"], record["train_acc"] = run.epoch_loss_sum / steps_per_epoch, None
    if val is not None:
        record["val_loss"], record["val_acc"] = evaluate(run.model, run.loss, *val, run.penalty)
    else:
        record["val_loss"], record["val_acc"] = None, None
    record["steps"] = run.step
    record["evaluations"] = run.evaluations
    return record


def _postfix(record):
    parts = [f"loss {record['train_loss']:.4f}"]
    if record.get("val_acc") is not None:
        parts.append(f"val acc {record['val_acc']:.3f}")
    return ", ".join(parts)


def row_blocks(X, rows=EVAL_ROWS):
    """``(start, block)`` over the rows of ``X`` (an array or a row source), ``rows`` at a
    time. A row source's blocks are converted into one reused buffer (valid until the next
    block). The blocks are the same for both, so the sums over them are too (smaller blocks
    for a row source would stay in cache, but would change the last bits of the loss)."""
    if is_row_source(X):
        buffer = np.empty((min(rows, len(X)), X.shape[1]), dtype=X.dtype)
    for start in range(0, len(X), rows):
        stop = min(len(X), start + rows)
        if is_row_source(X):
            yield start, X.rows_into(start, stop, buffer[: stop - start])
        else:
            yield start, X[start:stop]


def predict_scores(model, X, rows=EVAL_ROWS):
    """``model(X)`` computed ``rows`` rows at a time, as one (N, C) array."""
    X = X if is_row_source(X) else np.asarray(X)
    out = None
    for start, features in row_blocks(X, rows):
        block = model.forward(features)
        if out is None:
            out = np.empty((len(X), block.shape[1]), dtype=block.dtype)
        out[start : start + len(block)] = block
    if out is None:
        raise ValueError("X has no rows")
    return out


def evaluate(model, loss, X, y, penalty=None, rows=EVAL_ROWS):
    """``(objective, accuracy)`` of ``model`` on all of ``(X, y)``.

    The objective is the data loss with ``loss``'s reduction over all N rows, plus the
    penalty; the accuracy is the fraction of rows whose highest score is the label.

    A linear model with a fused loss is measured by the fused kernel's forward half
    (:meth:`FusedLinearLoss.loss_and_correct`: cache-sized blocks, a row source's blocks
    converted inside it, split between threads); any other model ``rows`` rows at a time.
    """
    y = np.asarray(y)
    if FusedLinearLoss.supports(model, loss) and FusedLinearLoss.accepts(X, model.weight):
        fused = FusedLinearLoss(loss)
        total, correct = fused.loss_and_correct(X, y, model.weight, model.bias)
    else:
        total, correct = _blockwise_loss_and_correct(model, loss, X, y, rows)
    if penalty is not None:
        total += penalty.forward(model)
    return float(total), correct / len(y)


def _blockwise_loss_and_correct(model, loss, X, y, rows):
    total, correct = 0.0, 0
    for start, scores in _score_blocks(model, X, rows):
        labels = y[start : start + len(scores)]
        value = loss.forward(scores, labels)
        total += value * len(labels) if loss.reduction == "mean" else value
        correct += int(np.count_nonzero(scores.argmax(axis=1) == labels))
    if loss.reduction == "mean":
        total /= len(y)
    return total, correct


def _score_blocks(model, X, rows):
    """``(start, model(X[start:start + rows]))`` over the rows of ``X`` (an array or a row
    source). Each block's scores are computed ``FORWARD_BYTES`` of features at a time: a row
    source's piece is converted and multiplied while it is in cache (a whole 4096-row block,
    48 MiB of CIFAR-10 float32, overflows the last-level cache between the two, which made
    ``evaluate`` twice as slow from uint8). An array takes the same pieces, so its scores,
    and the losses summed over the same blocks, are the row source's bit for bit."""
    X = X if is_row_source(X) else np.asarray(X)
    n, d = X.shape
    piece = max(1, min(rows, FORWARD_BYTES // max(1, d * np.dtype(X.dtype).itemsize)))
    buffer = np.empty((min(piece, n), d), dtype=X.dtype) if is_row_source(X) else None
    for start in range(0, n, rows):
        stop, scores = min(n, start + rows), None
        for lo in range(start, stop, piece):
            hi = min(stop, lo + piece)
            features = X[lo:hi] if buffer is None else X.rows_into(lo, hi, buffer[: hi - lo])
            part = model.forward(features)
            if scores is None:
                scores = np.empty((stop - start, *part.shape[1:]), dtype=part.dtype)
            scores[lo - start : hi - start] = part
        yield start, scores


def _progress_bar(progress, total, done):
    show = sys.stderr.isatty() if progress is None else bool(progress)
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, unit="step", file=sys.stderr, dynamic_ncols=True)


class _NoBar:
    def update(self, n):
        pass

    def set_postfix_str(self, s, refresh=True):
        pass

    def close(self):
        pass


def _restore(run, resume):
    from .checkpoint import CheckpointState, load_checkpoint

    state = resume if isinstance(resume, CheckpointState) else load_checkpoint(resume)
    for key in ("n_parameters", "dtype", "batch_size", "sampling", "seed", "n_train", "n_features"):
        saved, now = state.config.get(key), run.config[key]
        if saved != now:
            raise ValueError(
                f"cannot resume: the checkpoint was made with {key}={saved!r}, "
                f"this run has {key}={now!r}"
            )
    if state.config.get("optimizer") != run.config["optimizer"]:
        raise ValueError(
            f"cannot resume: the checkpoint's optimizer is {state.config.get('optimizer')}, "
            f"this run uses {run.config['optimizer']}"
        )
    np.copyto(run.x, state.x)
    run.optimizer.load_state_dict(state.optimizer)
    run.rng.bit_generator.state = state.rng_state
    run.epoch_rng_state = state.rng_state
    run.epoch, run.step, run.step_in_epoch = state.epoch, state.step, state.step_in_epoch
    run.evaluations = state.evaluations
    run.epoch_loss_sum = state.epoch_loss_sum
    run.history = History.from_dict(state.history)
    run.history.stop_reason = None
    # Callbacks are matched by type and order, so adding a stateless one (a printer, say)
    # when resuming does not misplace the others' state.
    saved = {}
    for entry in state.callbacks:
        if isinstance(entry, dict) and "type" in entry:
            saved.setdefault(entry["type"], []).append(entry.get("state") or {})
    for cb in run.callbacks:
        queue = saved.get(type(cb).__name__)
        if queue:
            cb.load_state_dict(queue.pop(0))
