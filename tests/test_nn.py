import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradwise as gw
from gradwise.nn import Linear, ReLU, Sequential, Sigmoid, Tanh, flatten


def mlp(dtype=np.float64, seed=0):
    return Sequential(
        Linear(5, 8, init="he", seed=seed, dtype=dtype),
        Tanh(),
        Sequential(Linear(8, 6, init="xavier", seed=seed + 1, dtype=dtype), ReLU()),
        Linear(6, 3, seed=seed + 2, dtype=dtype),
    )


@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(1, 5),
    d_in=st.integers(1, 6),
    d_out=st.integers(1, 5),
    seed=st.integers(0, 2**16),
    kind=st.sampled_from(["linear", "relu", "tanh", "sigmoid", "sequential"]),
)
def test_every_module_passes_the_gradient_check(n, d_in, d_out, seed, kind):
    rng = np.random.default_rng(seed)
    module = {
        "linear": lambda: Linear(d_in, d_out, init="xavier", seed=seed, dtype=np.float64),
        "relu": ReLU,
        "tanh": Tanh,
        "sigmoid": Sigmoid,
        "sequential": lambda: Sequential(
            Linear(d_in, d_out, init="he", seed=seed, dtype=np.float64),
            Sigmoid(),
            Linear(d_out, 2, init="xavier", seed=seed, dtype=np.float64),
        ),
    }[kind]()
    reports = gw.check_module(module, rng.standard_normal((n, d_in)) * 2)
    for report in reports.values():
        if report is not None:
            assert report.passed and report.max_rel_error < 1e-6, str(report)


def test_linear_matches_torch_forward_and_backward(torch, rng):
    layer = Linear(6, 4, init="xavier", dtype=np.float64)
    layer.bias[:] = rng.standard_normal(4)
    X, G = rng.standard_normal((5, 6)), rng.standard_normal((5, 4))
    ref = torch.nn.Linear(6, 4, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(layer.weight.T))
        ref.bias.copy_(torch.tensor(layer.bias))
    Xt = torch.tensor(X, requires_grad=True)
    out = ref(Xt)
    out.backward(torch.tensor(G))
    np.testing.assert_allclose(layer.forward(X), out.detach().numpy(), rtol=1e-14)
    dX = layer.backward(G)
    np.testing.assert_allclose(dX, Xt.grad.numpy(), rtol=1e-13)
    np.testing.assert_allclose(layer.grad_weight, ref.weight.grad.numpy().T, rtol=1e-13)
    np.testing.assert_allclose(layer.grad_bias, ref.bias.grad.numpy(), rtol=1e-13)


def test_backward_accumulates_until_zero_grad(rng):
    layer = Linear(3, 2, dtype=np.float64)
    X, G = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer.forward(X)
    layer.backward(G)
    once = layer.grad_weight.copy()
    layer.backward(G)
    np.testing.assert_allclose(layer.grad_weight, 2 * once)
    layer.zero_grad()
    assert not layer.grad_weight.any() and not layer.grad_bias.any()


@pytest.mark.parametrize(
    "init, std", [("gaussian", 1e-3), ("xavier", np.sqrt(2 / 1100)), ("he", np.sqrt(2 / 1000))]
)
def test_inits_have_their_documented_scale(init, std):
    w = Linear(1000, 100, init=init, seed=1).weight
    assert w.std() == pytest.approx(std, rel=0.02)
    assert abs(w.mean()) < 0.01 * std * 10


def test_same_seed_same_weights():
    assert np.array_equal(Linear(7, 3, seed=4).weight, Linear(7, 3, seed=4).weight)
    assert not np.array_equal(Linear(7, 3, seed=4).weight, Linear(7, 3, seed=5).weight)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flatten_makes_views_in_nested_sequentials(dtype, rng):
    model = mlp(dtype=np.float64)
    before = [p.copy() for p, _ in model.parameters()]
    x, g = flatten(model, dtype=dtype)
    assert x.dtype == dtype and x.flags.c_contiguous and g.shape == x.shape
    assert x.size == 5 * 8 + 8 + 8 * 6 + 6 + 6 * 3 + 3
    for (p, grad), old in zip(model.parameters(), before, strict=True):
        assert np.shares_memory(p, x) and np.shares_memory(grad, g)
        np.testing.assert_allclose(p, old, rtol=1e-6)
    x[0] = 42.0  # writing into x changes the first layer's weight
    assert model[0].weight[0, 0] == 42.0
    model.forward(rng.standard_normal((4, 5)).astype(dtype))
    model.backward(np.ones((4, 3), dtype=dtype))
    assert np.abs(g).sum() > 0  # backward wrote into g
    assert flatten(model, dtype=dtype)[0] is x  # idempotent


def test_flatten_layout_is_weight_then_bias_module_by_module():
    model = Sequential(Linear(2, 3, dtype=np.float64), ReLU(), Linear(3, 1, dtype=np.float64))
    w0, b0, w1 = model[0].weight.copy(), model[0].bias.copy(), model[2].weight.copy()
    x, _ = flatten(model)
    np.testing.assert_array_equal(x[:6], w0.ravel())
    np.testing.assert_array_equal(x[6:9], b0)
    np.testing.assert_array_equal(x[9:12], w1.ravel())
    assert [name for name, _ in gw.nn.parameter_blocks(model)] == [
        "0.weight",
        "0.bias",
        "2.weight",
        "2.bias",
    ]


def test_bad_module_arguments_and_inputs():
    with pytest.raises(ValueError, match="in_features"):
        Linear(0, 3)
    with pytest.raises(ValueError, match="init"):
        Linear(3, 3, init="uniformish")
    with pytest.raises(ValueError, match="expects 3 features"):
        Linear(3, 2).forward(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="2-D"):
        Linear(3, 2).forward(np.zeros(3))
    with pytest.raises(TypeError, match="Modules"):
        Sequential(Linear(2, 2), "relu")
    with pytest.raises(ValueError, match="no parameters"):
        flatten(ReLU())
    with pytest.raises(TypeError, match="float32 or float64"):
        flatten(Linear(2, 2), dtype=np.int32)


def test_sigmoid_does_not_overflow():
    with np.errstate(over="raise", invalid="raise"):
        out = Sigmoid().forward(np.array([[-1000.0, 0.0, 1000.0]]))
    np.testing.assert_allclose(out, [[0.0, 0.5, 1.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_modules_describe_themselves_and_rebuild_with_zero_parameters(dtype):
    model = mlp()
    description = model.describe()
    assert description["type"] == "Sequential" and description["layers"][1] == {"type": "Tanh"}
    assert description["layers"][2] == {
        "type": "Sequential",
        "layers": [{"type": "Linear", "in_features": 8, "out_features": 6}, {"type": "ReLU"}],
    }
    back = gw.nn.Module.rebuild(description, dtype)
    assert back.describe() == description and repr(back).count("Linear") == 3
    for _, module, name in back.named_parameters():
        value = getattr(module, name)
        assert value.dtype == dtype and not value.any()


def test_a_kind_rebuilds_only_its_own_subclasses():
    with pytest.raises(gw.ModelFileError, match="unknown layer type 'ReLU'"):
        Linear.rebuild({"type": "ReLU"})
    with pytest.raises(gw.ModelFileError, match="unknown layer type 'Sigmoid'"):
        Sequential.rebuild({"type": "Sigmoid"})
    assert type(Linear.rebuild({"type": "Linear", "in_features": 2, "out_features": 1})) is Linear
    assert set(gw.nn.Module.registry) >= {"Linear", "ReLU", "Sequential", "Sigmoid", "Tanh"}
