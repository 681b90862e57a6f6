"""The lecture's worked example for any scores: softmax and SVM losses of one image, and the
class-score table of a few images.

scores ``s = x W + b`` -> ``exp(s)`` (unnormalised probabilities) -> normalise ->
probabilities ``p`` -> ``L_i = -ln p_label``, then the multiclass SVM loss of the same scores,
``L_i = sum_{j != label} max(0, s_j - s_label + margin)``.

The log is the natural log (what the softmax loss and its gradient use). The lecture's slide
writes ``L_i = -log(0.13) = 0.89``, which is the base-10 log; the natural log gives 2.04. Both
are given. When a score is so large that ``exp(s)`` would overflow, every score is shifted by
the largest one first (``exp(s - max s)``, which changes nothing after normalising).

``gradwise explain`` prints :func:`explain_scores`'s text; a notebook shows the same object
as HTML.
"""

import math

import numpy as np

from .._html import block, table, text
from .functional import softmax
from .loss import check_margin

# exp(709) is the largest float64 exponential; shift scores beyond a comfortable margin.
EXP_LIMIT = 700.0


class Explanation:
    """Both losses of one image's ``scores`` for the class ``label``, step by step.

    ``classes``, ``scores``, ``label`` (an index into ``classes``), ``shift`` (subtracted
    before ``exp``: 0 unless a score exceeds :data:`EXP_LIMIT`), ``exp`` (``exp(s - shift)``),
    ``probabilities``, ``softmax_loss`` (``-ln p_label``, exact even when ``p`` underflows),
    ``softmax_loss_log10`` (the slide's base), ``margin``, ``margins`` (``s_j - s_y + margin``,
    ``nan`` at the label), ``svm_loss``. ``str()`` is what ``gradwise explain`` prints.
    """

    def __init__(self, scores, classes, label, *, margin=1.0, label_given=True):
        check_margin(margin)
        self.classes = [str(c) for c in classes]
        self.scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if len(self.scores) != len(self.classes):
            raise ValueError(f"{len(self.scores)} scores for {len(self.classes)} classes")
        if label not in self.classes:
            raise ValueError(f"label {label!r} is not a class; classes: {', '.join(self.classes)}")
        self.label = self.classes.index(label)
        self.label_given = label_given
        self.margin = float(margin)
        self.shift = float(self.scores.max()) if self.scores.max() > EXP_LIMIT else 0.0
        self.exp = np.exp(self.scores - self.shift)  # the lecture's exp column
        self.probabilities = softmax(self.scores)
        log_sum = self.shift + math.log(self.exp.sum())  # log-sum-exp
        self.softmax_loss = log_sum - float(self.scores[self.label])
        self.softmax_loss_log10 = self.softmax_loss / math.log(10)
        self.margins = self.scores - self.scores[self.label] + self.margin
        self.margins[self.label] = np.nan
        self.svm_loss = float(np.nansum(np.maximum(self.margins, 0.0)))

    def __str__(self):
        classes, y, p = self.classes, self.label, self.probabilities
        width = max(8, max(len(c) for c in classes))
        lines = [
            "",
            "softmax classifier: scores s = x W + b (unnormalised log probabilities)",
            f"  {'class':<{width}}  {'s':>10}  {self._exp_head():>14}  {'p = exp/sum':>12}",
        ]
        for k, c in enumerate(classes):
            mark = "  <- label" if k == y else ""
            lines.append(
                f"  {c:<{width}}  {self.scores[k]:10.4f}  {self.exp[k]:14.6g}  {p[k]:12.4f}{mark}"
            )
        lines.append(f"  {'sum':<{width}}  {'':>10}  {self.exp.sum():14.6g}  {p.sum():12.4f}")
        label = classes[y]
        how = "given" if self.label_given else "predicted: pass --label CLASS for the true one"
        lines += [
            "",
            f"label: {label} ({how}); p_{label} = {p[y]:.4g}",
            f"  L_i = -ln p_{label} = {self.softmax_loss:.4f}   (natural log, what training "
            "minimises)",
            f"  -log10 p_{label} = {self.softmax_loss_log10:.4f}   (base 10: the lecture's "
            "'-log(0.13) = 0.89' is this; -ln 0.13 = 2.04)",
            "",
            f"multiclass SVM loss of the same scores (margin {self.margin:g}):",
            f"  {'class':<{width}}  {'s_j - s_y + margin':>18}  {'max(0, .)':>10}",
        ]
        for k, c in enumerate(classes):
            if k != y:
                value = self.margins[k]
                lines.append(f"  {c:<{width}}  {value:18.4f}  {max(0.0, value):10.4f}")
        lines.append(f"  L_i = sum = {self.svm_loss:.4f}")
        return "\n".join(lines)

    def _exp_head(self):
        return "exp(s)" if self.shift == 0 else f"exp(s-{self.shift:.4g})"

    def _repr_html_(self):
        y, p = self.label, self.probabilities
        rows = [
            [c + ("  (label)" if k == y else ""), f"{self.scores[k]:.4f}", f"{self.exp[k]:.6g}",
             f"{p[k]:.4f}", "" if k == y else f"{self.margins[k]:.4f}",
             "" if k == y else f"{max(0.0, self.margins[k]):.4f}"]
            for k, c in enumerate(self.classes)
        ]  # fmt: skip
        rows.append(["sum", "", f"{self.exp.sum():.6g}", f"{p.sum():.4f}", "",
                     f"{self.svm_loss:.4f}"])  # fmt: skip
        header = ["class", "s", self._exp_head(), "p = exp/sum", "s_j - s_y + margin",
                  "max(0, .)"]  # fmt: skip
        label = self.classes[y]
        summary = (
            f"softmax: L_i = -ln p_{label} = {self.softmax_loss:.4f} "
            f"(-log10 p_{label} = {self.softmax_loss_log10:.4f}); "
            f"SVM (margin {self.margin:g}): L_i = {self.svm_loss:.4f}"
        )
        return block(f"label {label}", table(header, rows, right=range(1, 6)), text(summary))


def explain_scores(scores, classes, label=None, *, margin=1.0):
    """:class:`Explanation` of one image's ``scores`` (one per class of ``classes``) for
    class ``label`` (default: the class of highest score, marked as predicted)."""
    classes = [str(c) for c in classes]
    given = label is not None
    label = str(label) if given else classes[int(np.argmax(np.asarray(scores)))]
    return Explanation(scores, classes, label, margin=margin, label_given=given)


class ScoreTable:
    """The lecture's score table: the class scores of a few images (one column per image),
    with each image's SVM and softmax losses when its label is known.

    ``scores`` (n_images, n_classes), ``classes``, ``names`` of the images, ``labels``
    (class names, or ``None``), ``svm_losses``, ``softmax_losses`` (``None`` without labels),
    ``margin``.
    """

    def __init__(self, scores, classes, *, labels=None, names=None, margin=1.0):
        self.scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
        self.classes = [str(c) for c in classes]
        if self.scores.shape[1] != len(self.classes):
            raise ValueError(f"scores have {self.scores.shape[1]} columns for "
                             f"{len(self.classes)} classes")  # fmt: skip
        n = len(self.scores)
        self.names = [str(v) for v in names] if names is not None else [
            f"image {i + 1}" for i in range(n)]  # fmt: skip
        if len(self.names) != n:
            raise ValueError(f"{len(self.names)} names for {n} images")
        self.margin = check_margin(margin)
        self.labels = None if labels is None else [str(v) for v in labels]
        self.svm_losses = self.softmax_losses = None
        if self.labels is not None:
            if len(self.labels) != n:
                raise ValueError(f"{len(self.labels)} labels for {n} images")
            each = [Explanation(s, self.classes, y, margin=margin)
                    for s, y in zip(self.scores, self.labels, strict=True)]  # fmt: skip
            self.svm_losses = [e.svm_loss for e in each]
            self.softmax_losses = [e.softmax_loss for e in each]

    def __str__(self):
        width = max(len("softmax loss"), *(len(c) for c in self.classes))
        cols = max(10, *(len(v) for v in self.names))
        lines = [f"{'':<{width}}" + "".join(f"  {v:>{cols}}" for v in self.names)]
        for k, c in enumerate(self.classes):
            lines.append(f"{c:<{width}}" + "".join(f"  {s:>{cols}.2f}" for s in self.scores[:, k]))
        if self.labels is not None:
            lines.append(f"{'label':<{width}}" + "".join(f"  {v:>{cols}}" for v in self.labels))
            for what, values in (("SVM loss", self.svm_losses),
                                 ("softmax loss", self.softmax_losses)):  # fmt: skip
                lines.append(f"{what:<{width}}" + "".join(f"  {v:>{cols}.2f}" for v in values))
            lines.append(f"mean SVM loss {np.mean(self.svm_losses):.2f}, mean softmax loss "
                         f"{np.mean(self.softmax_losses):.2f}")  # fmt: skip
        return "\n".join(lines)

    def _repr_html_(self):
        rows = [[c, *(f"{s:.2f}" for s in self.scores[:, k])] for k, c in enumerate(self.classes)]
        parts = []
        if self.labels is not None:
            rows.append(["label", *self.labels])
            rows.append(["SVM loss", *(f"{v:.2f}" for v in self.svm_losses)])
            rows.append(["softmax loss", *(f"{v:.2f}" for v in self.softmax_losses)])
            parts.append(text(self.__str__().splitlines()[-1]))
        right = range(1, len(self.names) + 1)
        return block("class scores", table(["class", *self.names], rows, right=right), *parts)


def score_table(scores, classes, *, labels=None, names=None, margin=1.0):
    """:class:`ScoreTable` of ``scores`` (n_images, n_classes)."""
    return ScoreTable(scores, classes, labels=labels, names=names, margin=margin)
