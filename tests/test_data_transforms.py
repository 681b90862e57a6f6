"""Preprocessing: each step's math, fit-on-train semantics, and exact save/restore."""

import io
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradwise.data import (
    BiasTrick,
    Flatten,
    MeanSubtraction,
    Pipeline,
    Standardize,
    ToFloat32,
    preprocessing,
    transform_from_dict,
    transforms,
)


def images(n=20, seed=0, shape=(4, 3, 3)):
    return np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)


def test_to_float32_maps_uint8_to_unit_interval_exactly():
    X = np.array([[0, 1, 128, 255]], np.uint8)
    Y = ToFloat32()(X)
    assert Y.dtype == np.float32
    np.testing.assert_array_equal(Y, (X.astype(np.float64) / 255).astype(np.float32))
    assert Y.min() == 0.0 and Y.max() == 1.0
    F = np.array([[0.5, 2.0]])
    np.testing.assert_array_equal(ToFloat32()(F), F.astype(np.float32))  # floats are not scaled
    with pytest.raises(TypeError, match="uint8 images or float features"):
        ToFloat32()(np.zeros((2, 2), np.int32))


def test_mean_subtraction_per_pixel_and_per_channel():
    X = ToFloat32()(images())
    pixel = MeanSubtraction("pixel").fit(X)
    np.testing.assert_allclose(pixel.mean, X.astype(np.float64).mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(pixel(X).mean(axis=0), 0, atol=1e-6)
    channel = MeanSubtraction("channel").fit(X)
    assert channel.mean.shape == (3,)
    np.testing.assert_allclose(channel.mean, X.astype(np.float64).mean(axis=(0, 1, 2)), rtol=1e-6)
    np.testing.assert_allclose(channel(X), X - channel.mean, rtol=1e-6)


def test_standardize_gives_zero_mean_unit_std_and_keeps_constant_pixels_finite():
    X = ToFloat32()(images(50))
    X[:, 0, 0, 0] = 0.25  # a constant pixel (like the digits' borders)
    step = Standardize("pixel").fit(X)
    Y = step(X)
    assert np.isfinite(Y).all()
    assert step.std[0, 0, 0] == 1.0
    np.testing.assert_allclose(Y[:, 1:].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(Y[:, 1:].std(axis=0), 1, rtol=1e-4)
    channel = Standardize("channel").fit(X)
    np.testing.assert_allclose(channel.std, X.astype(np.float64).std(axis=(0, 1, 2)), rtol=1e-5)


def test_flatten_is_row_major_hwc():
    X = np.arange(2 * 2 * 3 * 3).reshape(2, 2, 3, 3).astype(np.float32)
    F = Flatten()(X)
    assert F.shape == (2, 18)
    h, w, c = 1, 2, 0
    assert F[1, (h * 3 + w) * 3 + c] == X[1, h, w, c]


def test_bias_trick_appends_ones_last():
    X = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    Y = BiasTrick()(X)
    np.testing.assert_array_equal(Y, [[1, 2, 1], [3, 4, 1]])
    assert Y.dtype == np.float32
    with pytest.raises(ValueError, match="flatten first"):
        BiasTrick()(np.zeros((2, 2, 2)))


def test_pipeline_applies_training_statistics_to_test_data():
    X_train, X_test = images(30, 1), images(10, 2)
    features = preprocessing(center="pixel", bias_trick=True).fit(X_train)
    expected_mean = X_train.astype(np.float64).mean(axis=0) / 255
    out = features(X_test)
    assert out.shape == (10, 4 * 3 * 3 + 1) and out.dtype == np.float32
    manual = (X_test / 255 - expected_mean).reshape(10, -1)
    np.testing.assert_allclose(out[:, :-1], manual, atol=1e-6)
    np.testing.assert_array_equal(out[:, -1], 1)
    np.testing.assert_array_equal(features.fit_transform(X_train), features(X_train))


def test_transforms_never_modify_or_alias_their_input():
    X = ToFloat32()(images())
    X.flags.writeable = False  # like a memory-mapped cache array
    for step in (ToFloat32(), MeanSubtraction().fit(X), Standardize().fit(X), Flatten()):
        Y = step(X)
        assert not np.shares_memory(X, Y)
    pipeline = Pipeline([Flatten(), MeanSubtraction()]).fit(X)
    before = X.copy()
    out = pipeline(X)
    np.testing.assert_array_equal(X, before)
    assert not np.shares_memory(X, out)


def test_unfitted_or_mismatched_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="not fitted: call fit"):
        MeanSubtraction()(images())
    step = MeanSubtraction().fit(images(shape=(4, 4, 3)))
    with pytest.raises(ValueError, match="fitted on inputs ending in"):
        step(images(shape=(5, 4, 3)))
    with pytest.raises(ValueError, match="per must be one of"):
        MeanSubtraction("row")
    with pytest.raises(ValueError, match="standardize=True needs center"):
        preprocessing(center=None, standardize=True)
    with pytest.raises(ValueError, match=r"must be \(N, ...\)"):
        Flatten()(np.zeros(5))


@pytest.mark.parametrize(
    "pipeline",
    [
        preprocessing(),
        preprocessing(center="channel", standardize=True, bias_trick=True),
        preprocessing(scale=False, center=None, flatten=True),
    ],
)
def test_state_round_trips_exactly_through_json_and_npz(pipeline):
    X_train, X_test = images(25, 3), images(5, 4)
    pipeline.fit(X_train)
    config, arrays = pipeline.get_state()
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as stored:
        restored = Pipeline.from_state(json.loads(json.dumps(config)), dict(stored))
    np.testing.assert_array_equal(restored(X_test), pipeline(X_test))
    document = json.loads(json.dumps(pipeline.to_dict()))
    np.testing.assert_array_equal(transform_from_dict(document)(X_test), pipeline(X_test))
    assert repr(restored) == repr(pipeline)


def test_single_step_round_trip():
    step = Standardize("channel", eps=1e-3).fit(ToFloat32()(images()))
    again = transform_from_dict(json.loads(json.dumps(step.to_dict())))
    assert isinstance(again, Standardize) and again.eps == 1e-3
    np.testing.assert_array_equal(again.std, step.std)
    with pytest.raises(ValueError, match="unknown transform type"):
        transform_from_dict({"type": "rotate"})


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 40),
    chunk=st.integers(1, 9),
    per=st.sampled_from(["pixel", "channel"]),
    seed=st.integers(0, 2**16),
)
def test_chunked_moments_equal_numpy(n, chunk, per, seed):
    X = np.random.default_rng(seed).normal(3.0, 2.0, (n, 3, 2, 4)).astype(np.float32)
    axes = (0,) if per == "pixel" else (0, 1, 2)
    original = transforms.CHUNK_ROWS
    transforms.CHUNK_ROWS = chunk
    try:
        mean, var = transforms._moments(X, axes)
    finally:
        transforms.CHUNK_ROWS = original
    reference = X.astype(np.float64)
    np.testing.assert_allclose(mean, reference.mean(axis=axes), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(var, reference.var(axis=axes), rtol=1e-9, atol=1e-12)
