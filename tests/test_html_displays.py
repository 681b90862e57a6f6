"""What gradwise objects show in Jupyter (``_repr_html_``): the same numbers as their plain
text, every user-provided string escaped, and small."""

import re
import subprocess
import sys

import numpy as np
import pytest

from gradwise import _html, nn
from gradwise.calculus.gradcheck import gradient_check
from gradwise.calculus.objective import objective
from gradwise.data import load
from gradwise.data.dataset import Dataset
from gradwise.estimators import SoftmaxClassifier
from gradwise.estimators.comparison import compare
from gradwise.estimators.knn import KNNClassifier
from gradwise.selection.search import GridSearch, ranked_cells
from gradwise.training.history import History

HOSTILE = ["<script>alert(1)</script>", "cats & dogs", 'say "hi"', "plain"]


def no_raw(html, names=HOSTILE):
    """None of ``names`` appears unescaped, and each appears escaped."""
    for name in names:
        if name != _html.escape(name):
            assert name not in html, name
        assert _html.escape(name) in html, name


def numbers_of(text):
    """Every decimal number printed in ``text`` (as printed)."""
    return re.findall(r"-?\d+\.\d+(?:e[+-]\d+)?", text)


# -- the pieces ------------------------------------------------------------------------------


def test_table_escapes_cells_and_keeps_raw_html():
    html = _html.table(["<b>", "n"], [[HOSTILE[0], _html.Raw("<i>x</i>")]], right=(1,))
    no_raw(html, [HOSTILE[0], "<b>"])
    assert "<i>x</i>" in html


def test_a_chart_draws_each_series_and_breaks_at_missing_values():
    svg = _html.line_chart({"a & b": ([1, 2, 3, 4], [1.0, None, 2.0, 3.0])}, title="<t>")
    assert svg.count("<polyline") == 1 and svg.count("<circle") == 1  # [1] alone, then [2, 3]
    no_raw(svg, ["a & b", "<t>"])
    assert "no finite values" in _html.line_chart({"x": ([1], [float("nan")])})


# -- the objects -----------------------------------------------------------------------------


def hostile_dataset(n_per_class, shape=(32, 32, 3)):
    rng = np.random.default_rng(0)
    k = len(HOSTILE)
    X = rng.integers(0, 256, (n_per_class * k, *shape), dtype=np.uint8)
    y = np.repeat(np.arange(k, dtype=np.int64), n_per_class)
    return Dataset("<folder>", X, y, X[: 2 * k], y[: 2 * k], tuple(HOSTILE), "test")


def test_dataset_shows_counts_and_thumbnails_escaped_and_small():
    small, big = hostile_dataset(10), hostile_dataset(400)
    html = big._repr_html_()
    no_raw(html, HOSTILE + ["<folder>"])
    for count in ("400", "1600", "8"):  # per class, total, test total
        assert f">{count}</td>" in html
    assert html.count("data:image/jpeg;base64,") == len(HOSTILE)
    # Thumbnails, not the data: 40 times the images, the same display size.
    assert len(html) < 20_000 * len(HOSTILE)
    assert abs(len(html) - len(small._repr_html_())) < 0.1 * len(html)
    assert repr(big).startswith("Dataset('<folder>', train=1600")


def test_a_feature_dataset_shows_counts_only():
    ds = load("spiral")
    html = ds._repr_html_()
    assert "<img" not in html and f">{len(ds.y_train)}</td>" in html


def test_history_shows_its_numbers_and_keeps_its_repr():
    h = History(loss=[2.3, 2.0, 1.8], lr=[0.1] * 3, stop_reason="completed",
                epochs=[{"epoch": 1, "train_loss": 2.1, "train_acc": 0.3, "val_loss": None,
                         "val_acc": None, "seconds": 0.5},
                        {"epoch": 2, "train_loss": 1.75, "train_acc": 0.41, "val_loss": None,
                         "val_acc": None, "seconds": 0.25}])  # fmt: skip
    html = h._repr_html_()
    assert repr(h) == (
        "History(epochs=2, steps=3, train_loss=1.75, train_acc=0.41, val_loss=None, val_acc=None)"
    )
    assert _html.escape(repr(h)) in html
    for value in ("2.1", "1.75", "0.3", "0.41", "0.25"):
        assert f">{value}</td>" in html
    assert "val_loss</th>" not in html  # no validation: no empty columns
    assert html.count("<svg") == 3


def test_gradient_check_shows_the_numbers_it_prints():
    rng = np.random.default_rng(0)
    f = objective(nn.Linear(5, 3, seed=0, dtype=np.float64), nn.MulticlassHinge(),
                  rng.standard_normal((40, 5)), rng.integers(0, 3, 40))  # fmt: skip
    report = gradient_check(f, f.x)
    html = report._repr_html_()
    printed = numbers_of(str(report))
    assert printed and all(n in html for n in printed)
    assert report.verdict.upper() in html


def test_explanation_is_the_slide_and_shows_what_explain_prints():
    e = nn.explain_scores([3.2, 5.1, -1.7], ["cat", "car", "frog"], "cat")
    assert round(e.exp[0], 1) == 24.5 and round(e.exp[1], 1) == 164.0 and round(e.exp[2], 2) == 0.18
    assert [round(p, 2) for p in e.probabilities] == [0.13, 0.87, 0.0]
    assert round(e.softmax_loss, 2) == 2.04 and round(e.softmax_loss_log10, 2) == 0.89
    assert e.svm_loss == pytest.approx(2.9)
    html = e._repr_html_()
    for number in numbers_of(str(e)):
        if number not in ("0.13", "0.89", "2.04"):  # the slide's, quoted in the text
            assert number in html, number


def test_explanation_escapes_class_names():
    e = nn.explain_scores([1.0, 2.0, 0.5, 0.0], HOSTILE, HOSTILE[0])
    no_raw(e._repr_html_())


def test_score_table_is_the_slide():
    scores = [[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]]
    t = nn.score_table(scores, ["cat", "car", "frog"], labels=["cat", "car", "frog"])
    assert [round(v, 1) for v in t.svm_losses] == [2.9, 0.0, 12.9]
    html = t._repr_html_()
    assert all(n in html for n in numbers_of(str(t)))
    names = nn.score_table([[1, 2, 3, 4]], HOSTILE, names=["<img src=x>"])
    no_raw(names._repr_html_(), HOSTILE + ["<img src=x>"])


def test_classifier_explains_one_image():
    ds = load("digits")
    clf = SoftmaxClassifier(epochs=1).fit(ds.X_train, ds.y_train)
    e = clf.explain(ds.X_test[0], label=ds.y_test[0])
    assert e.classes[e.label] == str(ds.y_test[0])
    np.testing.assert_allclose(e.probabilities, clf.predict_proba(ds.X_test[:1])[0])


def test_comparison_shows_the_table_it_prints():
    ds = load("digits")
    result = compare(SoftmaxClassifier(epochs=2), ds, ["sgd", "lbfgs@minibatch"])
    html = result._repr_html_()
    for line in result.table().splitlines()[2:]:
        for cell in line.split()[1:]:
            assert f">{cell}</td>" in html, cell
    assert html.count("<polyline") == 2


def test_compare_refuses_rates_for_runs_it_does_not_make():
    with pytest.raises(ValueError, match="lrs names runs that are not compared: adam"):
        compare(SoftmaxClassifier(), load("digits"), ["sgd"], lrs={"adam": 0.1})


def test_search_shows_its_ranked_table():
    ds = load("digits")
    search = GridSearch(KNNClassifier(), {"k": [1, 3]}, executor="serial", refit=False)
    assert search._repr_html_() is None  # not fitted: the plain repr
    search.fit(ds.X_train[:300], ds.y_train[:300])
    html = search._repr_html_()
    header, rows = ranked_cells(search.ranked_)
    for cell in header + [c for row in rows for c in row]:
        assert _html.escape(cell) in html


@pytest.mark.slow
def test_a_race_plays_inline():
    from gradwise.landscape import race
    from gradwise.plot import race_animation

    animation = race_animation(race(["sgd", "adam"], "beale", steps=20), "beale", frames=5)
    assert animation.gif.startswith(b"GIF89a")
    assert "data:image/gif;base64," in animation._repr_html_()
    assert len(animation._repr_html_()) < 400_000


def test_nothing_imports_ipython():
    code = (
        "import sys, gradwise.nn, gradwise.data, gradwise.training, gradwise.estimators, "
        "gradwise.selection, gradwise.calculus.gradcheck, gradwise.estimators.comparison; "
        "assert not any(m.split('.')[0] in ('IPython', 'ipykernel') for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
