"""Optimizer paths on 2-D surfaces: the numbers behind the pictures, and the files."""

import numpy as np
import pytest
from PIL import Image

from gradwise import landscape, plot
from gradwise.landscape.surfaces import LongValley
from gradwise.optim.registry import get as get_optimizer


def test_trace_records_plain_gradient_descent_step_by_step():
    surface = LongValley()
    t = landscape.trace(get_optimizer("sgd", lr=0.02), surface, start=(-4.0, 1.0), steps=25)
    assert t.steps == 25 and t.positions.shape == (26, 2) and t.stopped is None
    expected = np.array([-4.0, 1.0])
    for k in range(26):
        np.testing.assert_allclose(t.positions[k], expected, rtol=1e-12, atol=1e-15)
        assert t.values[k] == pytest.approx(surface.value(*expected), rel=1e-12)
        expected = expected - 0.02 * np.array(surface.gradient(*expected))


def test_trace_by_name_uses_the_surface_defaults():
    t = landscape.trace("adam", "beale")
    assert t.label == "adam" and t.lr == landscape.default_lr("beale", "adam")
    assert t.steps == landscape.DEFAULTS["beale"].steps
    np.testing.assert_array_equal(t.positions[0], landscape.default_start("beale"))


def test_trace_continues_an_optimizer_it_is_given():
    optimizer = get_optimizer("momentum", lr=0.01)
    first = landscape.trace(optimizer, "long-valley", steps=5)
    middle = first.positions[-1].copy()
    second = landscape.trace(optimizer, "long-valley", start=first.positions[-1], steps=5)
    np.testing.assert_array_equal(first.positions[-1], middle)  # the start was not moved
    whole = landscape.trace(get_optimizer("momentum", lr=0.01), "long-valley", steps=10)
    np.testing.assert_allclose(second.positions[-1], whole.positions[-1], rtol=1e-12)


def test_trace_stops_where_an_optimizer_diverges_or_leaves_for_good():
    diverged = landscape.trace(get_optimizer("sgd", lr=1.0), "beale", steps=200)
    assert diverged.stopped is not None and diverged.steps < 200
    assert np.isfinite(diverged.positions).all() and np.isfinite(diverged.values).all()
    assert len(diverged.values) == len(diverged.positions)
    escaped = landscape.trace(get_optimizer("momentum", lr=0.01), "saddle", steps=1000)
    assert escaped.stopped.startswith("left the plotted window")
    assert abs(escaped.positions[-1, 1]) > 10 * 3.0  # ten window widths out


def test_saddle_defaults_show_sgd_lingering_and_the_others_escaping():
    paths = landscape.race(surface="saddle")
    assert abs(paths["sgd"].positions[-1, 1]) < 0.05  # still next to the saddle point
    for name in ("momentum", "nesterov", "adagrad", "rmsprop", "adam"):
        assert abs(paths[name].positions[-1, 1]) > 1.0, name


def test_long_valley_defaults_show_sgd_crawling_and_momentum_overshooting():
    surface = LongValley()
    paths = landscape.race(surface="long-valley")
    gap = {n: surface.distance_to_minimum(t.positions[-1]) for n, t in paths.items()}
    assert gap["sgd"] > 0.1  # crawling down the shallow x direction
    for name in ("momentum", "nesterov", "adam"):
        assert gap[name] < gap["sgd"] / 5, name
    x = paths["momentum"].positions[:, 0]
    assert x.max() > 0.3  # overshoots the minimum at x = 0 along the valley
    assert paths["nesterov"].positions[:, 0].max() < x.max()  # the look-ahead damps it


def test_beale_rosenbrock_and_himmelblau_defaults():
    beale = landscape.race(["momentum", "adam"], "beale")
    for t in beale.values():
        assert np.hypot(*(t.positions[-1] - (3.0, 0.5))) < 0.1
    rosenbrock = landscape.race(surface="rosenbrock")
    gap = {n: np.hypot(*(t.positions[-1] - (1.0, 1.0))) for n, t in rosenbrock.items()}
    assert min(gap, key=gap.get) == "momentum" and gap["momentum"] < 0.1
    assert gap["sgd"] > 1.0  # still crawling along the curved valley
    surface = landscape.make_surface("himmelblau")
    ends = {
        int(np.argmin([np.hypot(*(t.positions[-1] - m)) for m in surface.minima]))
        for t in landscape.race(surface="himmelblau").values()
    }
    assert len(ends) >= 3  # different optimizers end in different minima


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="unknown surface 'bowl'.*beale.*saddle"):
        landscape.make_surface("bowl")
    with pytest.raises(ValueError, match="unknown optimizer 'adamax'.*adagrad.*sgd"):
        landscape.race(["sgd", "adamax"], "beale")
    with pytest.raises(ValueError, match="outside the plotted window of beale"):
        landscape.trace("sgd", "beale", start=(5.0, 0.0))
    with pytest.raises(ValueError, match="two finite numbers"):
        landscape.check_start("beale", (1.0, np.nan))
    with pytest.raises(ValueError, match="steps"):
        landscape.trace("sgd", "beale", steps=0)
    with pytest.raises(ValueError, match="race once"):
        landscape.parse_optimizers("sgd,adam,sgd")
    with pytest.raises(TypeError):
        landscape.trace(42, "beale")


def test_frame_steps_are_evenly_spaced_and_end_on_the_last_step():
    np.testing.assert_array_equal(plot.frame_steps(10, 50), np.arange(11))
    shown = plot.frame_steps(300, 31)
    assert len(shown) == 31 and shown[0] == 0 and shown[-1] == 300
    assert set(np.diff(shown)) == {10}


def test_animate_writes_a_gif_with_the_right_frames_and_a_still(tmp_path):
    paths = landscape.race(["sgd", "adam"], "rosenbrock", steps=60)
    written = plot.animate(paths, "rosenbrock", tmp_path / "race.gif", frames=25)
    assert written == [tmp_path / "race.gif", tmp_path / "race.png"]
    with Image.open(written[0]) as gif:
        assert gif.n_frames == 25 and gif.size == (608, 400)  # 7.6 x 5 in at 80 dpi
    with Image.open(written[1]) as png:
        assert png.size == (760, 500)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.gif", "race.png"]


def test_animate_png_only_3d_view_and_bad_paths(tmp_path):
    paths = landscape.race(["sgd", "momentum"], "saddle", steps=30)
    assert plot.animate(paths, "saddle", tmp_path / "s.png") == [tmp_path / "s.png"]
    gif = plot.animate(paths, "saddle", tmp_path / "s3.gif", frames=5, view="3d")
    with Image.open(gif[0]) as im:
        assert im.n_frames == 5
    with pytest.raises(ValueError, match=".gif"):
        plot.animate(paths, "saddle", tmp_path / "s.mp4")
    with pytest.raises(ValueError, match="view"):
        plot.animate(paths, "saddle", tmp_path / "s.gif", view="side")
    with pytest.raises(ValueError, match="empty"):
        plot.animate({}, "saddle", tmp_path / "s.gif")
