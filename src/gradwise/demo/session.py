"""One tab's state and the messages that change it.

Each message a page sends is ``{"type": ..., ...fields}`` (and optionally an ``id`` that
the reply carries back); :meth:`Session.handle` checks every field against
:mod:`.limits` before anything changes, and answers with the view's new state (or, for a
bad message, raises with one line, which the server sends as an ``error`` message). The
views' own modules do the work: :mod:`.plane`, :mod:`.racing`, :mod:`.trainer`.
"""

from .. import landscape
from ..optim.schedule import SCHEDULE_HELP
from . import limits
from .messages import (
    MessageError,
    name_in,
    number,
    numbers_list,
    options_dict,
    point,
    required,
    whole,
)
from .plane import Plane, loss_names
from .racing import Race, optimizer_names, surface_names
from .trainer import DEFAULT_EPOCHS, Trainer, training_losses, training_optimizers


class Session:
    """The three views of one tab. ``send`` delivers a message the training thread has
    for the page (the replies to the page's own messages are returned instead)."""

    def __init__(self, dataset, send, seed=0):
        self.plane = Plane(seed=seed)
        self.race = Race()
        self.trainer = Trainer(dataset, send) if dataset is not None else None

    def close(self):
        """The tab has gone: stop its training (its state goes with this object)."""
        if self.trainer is not None:
            self.trainer.stop()

    def handle(self, message):
        """The reply to ``message`` (a parsed dict with a string ``type``; its ``id``, if
        any, is the caller's to copy into the reply, or into the error)."""
        kind = message["type"]
        handler = HANDLERS.get(kind)
        if handler is None:
            raise MessageError(f"unknown message type {kind[:40]!r}; known: {', '.join(HANDLERS)}")
        return handler(self, message)

    # -- view 1 --------------------------------------------------------------------------

    def plane_get(self, message):
        return self.plane.state()

    def plane_randomise(self, message):
        classes = whole("classes", message.get("classes", self.plane.n_classes),
                        limits.MIN_CLASSES, limits.MAX_CLASSES)  # fmt: skip
        per_class = whole("points_per_class", message.get("points_per_class", 10), 1,
                          limits.MAX_POINTS_PER_CLASS)  # fmt: skip
        seed = whole("seed", message.get("seed", 0), 0, 2**32 - 1)
        if classes * per_class > limits.MAX_POINTS:
            raise ValueError(f"{classes} classes of {per_class} points is over the "
                             f"{limits.MAX_POINTS} points a plane holds")  # fmt: skip
        self.plane.randomise(classes, per_class, seed)
        return self.plane.state()

    def plane_set(self, message):
        c = self.plane.n_classes
        W = message.get("W")
        if W is not None:
            if not isinstance(W, list) or len(W) != c:
                raise TypeError(f"W must be {c} rows of 2 numbers (one row per class)")
            W = [numbers_list(f"W[{k}]", row, 2, limits.MAX_WEIGHT) for k, row in enumerate(W)]
        b = message.get("b")
        b = None if b is None else numbers_list("b", b, c, limits.MAX_WEIGHT)
        loss = message.get("loss")
        loss = None if loss is None else name_in("loss", loss, loss_names())
        reg = message.get("reg")
        reg = None if reg is None else number("reg", reg, 0.0, limits.MAX_REG)
        lr = message.get("lr")
        lr = None if lr is None else number("lr", lr, limits.MIN_LR, limits.MAX_LR)
        self.plane.set_parameters(W, b)
        self.plane.set_options(loss, reg, lr)
        return self.plane.state()

    def plane_step(self, message):
        self.plane.step(whole("steps", message.get("steps", 1), 1, limits.MAX_STEPS))
        return self.plane.state()

    def plane_add_point(self, message):
        if len(self.plane.labels) >= limits.MAX_POINTS:
            raise ValueError(f"at most {limits.MAX_POINTS} points")
        p = point("point", required(message, "point"), limits.PLANE_EXTENT)
        label = whole("label", required(message, "label"), 0, self.plane.n_classes - 1)
        self.plane.add_point(p, label)
        return self.plane.state()

    def _point_index(self, message):
        return whole("index", required(message, "index"), 0, len(self.plane.labels) - 1)

    def plane_move_point(self, message):
        index = self._point_index(message)
        self.plane.move_point(index, point("point", required(message, "point"),
                                           limits.PLANE_EXTENT))  # fmt: skip
        return self.plane.state()

    def plane_delete_point(self, message):
        self.plane.delete_point(self._point_index(message))
        return self.plane.state()

    def plane_drag_line(self, message):
        c = whole("class", required(message, "class"), 0, self.plane.n_classes - 1)
        handle = name_in("handle", required(message, "handle"), ("shift", "rotate"))
        # A handle may be dragged a little past the plane's edge.
        p = point("point", required(message, "point"), 2 * limits.PLANE_EXTENT)
        if handle == "shift":
            self.plane.shift_line(c, p)
        else:
            pivot = message.get("pivot")
            pivot = None if pivot is None else point("pivot", pivot, 2 * limits.PLANE_EXTENT)
            self.plane.rotate_line(c, p, pivot)
        return self.plane.state()

    # -- view 2 --------------------------------------------------------------------------

    def race_get(self, message):
        return self.race.state()

    def race_setup(self, message):
        surface = landscape.make_surface(
            name_in("surface", message.get("surface", self.race.surface.name), surface_names())
        )
        racers = message.get("optimizers")
        if racers is not None:
            if not isinstance(racers, list) or not 1 <= len(racers) <= limits.MAX_RACERS:
                raise TypeError(f"optimizers must be a list of 1 to {limits.MAX_RACERS} entries")
            racers = [_racer(entry) for entry in racers]
        start = message.get("start")
        if start is not None:
            start = point("start", start, tuple(surface.window))
        self.race.setup(surface, racers, start)
        return self.race.state()

    def race_step(self, message):
        return self.race.step(whole("steps", message.get("steps", 1), 1, limits.MAX_STEPS))

    def race_reset(self, message):
        start = message.get("start")
        if start is not None:
            start = point("start", start, tuple(self.race.surface.window))
        self.race.reset(start)
        return self.race.state()

    def race_value(self, message):
        p = point("point", required(message, "point"), tuple(self.race.surface.window))
        return {"type": "race.value", "point": list(p), "value": self.race.value_at(p)}

    # -- view 3 --------------------------------------------------------------------------

    def _trainer(self):
        if self.trainer is None:
            raise ValueError("this server has no dataset to train on")
        return self.trainer

    def train_info(self, message):
        return self._trainer().info()

    def train_start(self, message):
        trainer = self._trainer()
        loss = name_in("loss", message.get("loss", "softmax"), training_losses())
        lr = message.get("lr")
        schedule = message.get("schedule", "cosine")
        if not isinstance(schedule, str) or len(schedule) > 40:
            raise TypeError(f"schedule must be a short string: {SCHEDULE_HELP}")
        params = {
            "optimizer": name_in("optimizer", message.get("optimizer", "momentum"),
                                 training_optimizers()),
            "lr": None if lr is None else number("lr", lr, limits.MIN_LR, limits.MAX_LR),
            "schedule": schedule,
            "reg": number("reg", message.get("reg", 2.5e-4), 0.0, limits.MAX_REG),
            "epochs": whole("epochs", message.get("epochs", DEFAULT_EPOCHS), 1,
                            limits.MAX_EPOCHS),
            "batch_size": whole("batch_size", message.get("batch_size", 256), 1,
                                limits.MAX_BATCH),
        }  # fmt: skip
        trainer.start(loss, params)
        return {"type": "train.accepted", "loss": loss, **params}

    def train_stop(self, message):
        self._trainer().stop()
        return {"type": "train.stopping"}

    def train_explain(self, message):
        trainer = self._trainer()
        index = whole("index", required(message, "index"), 0, len(trainer.dataset.y_test) - 1)
        return trainer.explain(index)


def _racer(entry):
    """``{"name", "lr"?, "options"?}`` -> ``(name, lr or None, options)``."""
    if not isinstance(entry, dict):
        raise TypeError("each optimizer must be an object {name, lr, options}")
    if "name" not in entry:
        raise MessageError("race.setup: each optimizer needs a 'name'")
    name = name_in("optimizer", entry["name"], optimizer_names())
    lr = entry.get("lr")
    lr = None if lr is None else number(f"{name} lr", lr, limits.MIN_LR, limits.MAX_LR)
    options = options_dict(f"{name} options", entry.get("options", {}), limits.MAX_OPTIONS,
                           limits.MAX_OPTION_VALUE)  # fmt: skip
    return name, lr, options


def hello(session):
    """What the page is told when it connects: the names and bounds it may use."""
    return {
        "type": "hello",
        "losses": list(loss_names()),
        "surfaces": list(surface_names()),
        "optimizers": list(optimizer_names()),
        "race_defaults": list(landscape.default_optimizers()),
        "training": None if session.trainer is None else {
            "losses": list(training_losses()),
            "optimizers": list(training_optimizers()),
            "schedule_help": SCHEDULE_HELP,
            "epochs": DEFAULT_EPOCHS,
        },
        "limits": {"max_points": limits.MAX_POINTS, "max_steps": limits.MAX_STEPS,
                   "min_classes": limits.MIN_CLASSES, "max_classes": limits.MAX_CLASSES,
                   "max_racers": limits.MAX_RACERS, "max_epochs": limits.MAX_EPOCHS},
    }  # fmt: skip


#: Message type -> handler; the one list of what a page may ask.
HANDLERS = {
    name.replace("_", ".", 1): getattr(Session, name)
    for name in vars(Session)
    if name.split("_")[0] in ("plane", "race", "train") and not name.startswith("_")
}
