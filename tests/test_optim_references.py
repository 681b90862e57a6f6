"""The torch7 and lecture variants, pinned to reference implementations of their formulas.

Each reference below is a direct transcription of the published update (torch7 ``optim``'s
Lua files, the lecture's slides, scikit-learn's Adam), written plainly, allocating freely.
Both sides run 200 steps on the same problems as the PyTorch parity tests; the iterates
must agree to 1e-10 relative at every step.
"""

import math

import numpy as np
import pytest

import gradwise as gw
from gradwise.landscape.surfaces import IllConditionedQuadratic
from gradwise.optim.adagrad import Adagrad
from gradwise.optim.adam import Adam
from gradwise.optim.base import moving_average, moving_average_of_squares
from gradwise.optim.rmsprop import RMSprop
from gradwise.optim.schedule import ExponentialDecay, StepDecay
from gradwise.optim.sgd import SGD

STEPS = 200
RELATIVE_TOLERANCE = 1e-10


def quadratic():
    f = IllConditionedQuadratic(dim=20, condition=1e3, seed=1)
    return f, np.random.default_rng(2).standard_normal(20), 1e-3, 1e-2


def softmax():
    rng = np.random.default_rng(3)
    centers = 2.0 * rng.standard_normal((4, 8))
    y = rng.integers(0, 4, size=60)
    X = centers[y] + rng.standard_normal((60, 8))
    model = gw.nn.Linear(8, 4, init="xavier", seed=4, dtype=np.float64)
    f = gw.objective(model, gw.nn.SoftmaxCrossEntropy(), X, y, penalty=gw.nn.L2(1e-3))
    return f, f.x.copy(), 0.5, 0.05


PROBLEMS = {"quadratic": quadratic, "softmax": softmax}


# --- torch7 optim, transcribed from sgd.lua, nag.lua, adagrad.lua, rmsprop.lua, adam.lua ---


def torch7_sgd(opfunc, x, config, state):
    lr = config.get("learningRate", 1e-3)
    lrd = config.get("learningRateDecay", 0)
    wd = config.get("weightDecay", 0)
    mom = config.get("momentum", 0)
    damp = config.get("dampening", mom)
    nesterov = config.get("nesterov", False)
    state.setdefault("evalCounter", 0)
    fx, dfdx = opfunc(x)
    dfdx = dfdx.copy()
    if wd != 0:
        dfdx = dfdx + wd * x
    if mom != 0:
        if "dfdx" not in state:
            state["dfdx"] = dfdx.copy()
        else:
            state["dfdx"] = state["dfdx"] * mom + (1 - damp) * dfdx
        if nesterov:
            dfdx = dfdx + mom * state["dfdx"]
        else:
            dfdx = state["dfdx"]
    clr = lr / (1 + state["evalCounter"] * lrd)
    x[:] = x - clr * dfdx
    state["evalCounter"] += 1
    return fx


def torch7_nag(opfunc, x, config, state):
    lr = config.get("learningRate", 1e-3)
    lrd = config.get("learningRateDecay", 0)
    wd = config.get("weightDecay", 0)
    mom = config.get("momentum", 0.9)
    state.setdefault("evalCounter", 0)
    x_copy = x.copy()
    if "dfdx" in state:
        x[:] = x + mom * state["dfdx"]
    fx, dfdx = opfunc(x)
    dfdx = dfdx.copy()
    if wd != 0:
        dfdx = dfdx + wd * x
    clr = lr / (1 + state["evalCounter"] * lrd)
    state["dfdx"] = mom * state["dfdx"] if "dfdx" in state else np.zeros_like(dfdx)
    state["dfdx"] = state["dfdx"] - clr * dfdx
    x[:] = x_copy + state["dfdx"]
    state["evalCounter"] += 1
    return fx


def torch7_adagrad(opfunc, x, config, state):
    lr = config.get("learningRate", 1e-3)
    lrd = config.get("learningRateDecay", 0)
    state.setdefault("evalCounter", 0)
    fx, dfdx = opfunc(x)
    clr = lr / (1 + state["evalCounter"] * lrd)
    state["paramVariance"] = state.get("paramVariance", 0) + dfdx * dfdx
    x[:] = x - clr * dfdx / (np.sqrt(state["paramVariance"]) + 1e-10)
    state["evalCounter"] += 1
    return fx


def torch7_rmsprop(opfunc, x, config, state):
    lr = config.get("learningRate", 1e-2)
    alpha = config.get("alpha", 0.99)
    epsilon = config.get("epsilon", 1e-8)
    fx, dfdx = opfunc(x)
    state["m"] = state.get("m", 0) * alpha + (1 - alpha) * dfdx * dfdx
    x[:] = x - lr * dfdx / (np.sqrt(state["m"]) + epsilon)
    return fx


def torch7_adam(opfunc, x, config, state):
    lr = config.get("learningRate", 0.001)
    beta1 = config.get("beta1", 0.9)
    beta2 = config.get("beta2", 0.999)
    epsilon = config.get("epsilon", 1e-8)
    fx, dfdx = opfunc(x)
    state["t"] = state.get("t", 0) + 1
    state["m"] = state.get("m", 0) * beta1 + (1 - beta1) * dfdx
    state["v"] = state.get("v", 0) * beta2 + (1 - beta2) * dfdx * dfdx
    denom = np.sqrt(state["v"]) + epsilon
    step_size = lr * math.sqrt(1 - beta2 ** state["t"]) / (1 - beta1 ** state["t"])
    x[:] = x - step_size * state["m"] / denom
    return fx


# --- the lecture's slides (lr may change from step to step) ---


def lecture_momentum(opfunc, x, config, state):
    """m_t = a m_{t-1} + lr dL/dW; W -= m_t."""
    fx, g = opfunc(x)
    lr = config["lr"](state["t"])
    state["m"] = config["momentum"] * state.get("m", 0) + lr * g
    x[:] = x - state["m"]
    state["t"] += 1
    return fx


def lecture_nesterov(opfunc, x, config, state):
    """v_prev = v; v = mu v - lr g; x += -mu v_prev + (1 + mu) v."""
    fx, g = opfunc(x)
    lr, mu = config["lr"](state["t"]), config["momentum"]
    v_prev = state.get("v", 0)
    state["v"] = mu * v_prev - lr * g
    x[:] = x + (-mu * v_prev + (1 + mu) * state["v"])
    state["t"] += 1
    return fx


def lecture_adagrad(opfunc, x, config, state):
    """kappa_t = kappa_{t-1} + g^2; W -= lr g / sqrt(kappa_t + 1e-7)."""
    fx, g = opfunc(x)
    state["kappa"] = state.get("kappa", 0) + g**2
    x[:] = x + (-config["lr"] * g) / np.sqrt(state["kappa"] + 1e-7)
    return fx


def lecture_rmsprop(opfunc, x, config, state):
    """kappa_t = zeta kappa_{t-1} + (1 - zeta) g^2; W -= lr g / sqrt(kappa_t + 1e-7)."""
    fx, g = opfunc(x)
    zeta = config["zeta"]
    state["kappa"] = zeta * state.get("kappa", 0) + (1 - zeta) * g**2
    x[:] = x + (-config["lr"] * g) / np.sqrt(state["kappa"] + 1e-7)
    return fx


def lecture_adam(opfunc, x, config, state):
    """The slide's "incomplete but close" Adam: no bias correction, 1e-7 inside the root."""
    fx, g = opfunc(x)
    a1, zeta = config["alpha1"], config["zeta"]
    state["m"] = a1 * state.get("m", 0) + (1 - a1) * g
    state["kappa"] = zeta * state.get("kappa", 0) + (1 - zeta) * g**2
    x[:] = x + (-config["lr"] * state["m"]) / np.sqrt(state["kappa"] + 1e-7)
    return fx


# --- the remaining Adam placements of eps, from the Adam paper's Algorithm 1 ---


def adam_variant(opfunc, x, config, state):
    fx, g = opfunc(x)
    b1, b2, eps = config["beta1"], config["beta2"], config["eps"]
    state["t"] = t = state.get("t", 0) + 1
    state["m"] = b1 * state.get("m", 0) + (1 - b1) * g
    state["v"] = b2 * state.get("v", 0) + (1 - b2) * g * g
    m_hat, v_hat = state["m"], state["v"]
    if config["bias_correction"]:
        m_hat, v_hat = m_hat / (1 - b1**t), v_hat / (1 - b2**t)
    if config["inside"]:
        x[:] = x - config["lr"] * m_hat / np.sqrt(v_hat + eps)
    else:
        x[:] = x - config["lr"] * m_hat / (np.sqrt(v_hat) + eps)
    return fx


def schedule(lr, decay):
    return StepDecay(lr, 25, 0.5) if decay else (lambda t: lr)


# (id, reference, reference config from (sgd_lr, adaptive_lr), ours from the same)
VARIANTS = [
    (
        "torch7-sgd-default-dampening",
        torch7_sgd,
        lambda s, a: dict(learningRate=s, momentum=0.9, weightDecay=0.01, learningRateDecay=0.02),
        lambda s, a: SGD(s, momentum=0.9, dampening=0.9, weight_decay=0.01, lr_decay=0.02),
    ),
    (
        "torch7-sgd-nesterov",
        torch7_sgd,
        lambda s, a: dict(learningRate=s, momentum=0.9, dampening=0, nesterov=True),
        lambda s, a: SGD(s, momentum=0.9, nesterov=True),
    ),
    (
        "torch7-nag",
        torch7_nag,
        lambda s, a: dict(learningRate=s, momentum=0.9, weightDecay=0.01, learningRateDecay=0.01),
        lambda s, a: SGD(
            s,
            momentum=0.9,
            nesterov=True,
            weight_decay=0.01,
            lr_decay=0.01,
            momentum_form="lecture",
            lookahead_gradient=True,
        ),
    ),
    (
        "torch7-adagrad",
        torch7_adagrad,
        lambda s, a: dict(learningRate=a, learningRateDecay=0.01),
        lambda s, a: Adagrad(a, lr_decay=0.01),
    ),
    (
        "torch7-rmsprop",
        torch7_rmsprop,
        lambda s, a: dict(learningRate=a),
        lambda s, a: RMSprop(a),
    ),
    (
        "torch7-adam",
        torch7_adam,
        lambda s, a: dict(learningRate=a, beta1=0.8, beta2=0.99, epsilon=1e-6),
        lambda s, a: Adam(a, betas=(0.8, 0.99), eps=1e-6, eps_hat=True),
    ),
    (
        "lecture-momentum-step-decay",
        lecture_momentum,
        lambda s, a: dict(lr=schedule(s, True), momentum=0.9, t=0),
        lambda s, a: SGD(StepDecay(s, 25, 0.5), momentum=0.9, momentum_form="lecture"),
    ),
    (
        "lecture-nesterov-step-decay",
        lecture_nesterov,
        lambda s, a: dict(lr=schedule(s, True), momentum=0.9),
        lambda s, a: SGD(
            StepDecay(s, 25, 0.5), momentum=0.9, nesterov=True, momentum_form="lecture"
        ),
    ),
    (
        "lecture-adagrad",
        lecture_adagrad,
        lambda s, a: dict(lr=a),
        lambda s, a: Adagrad(a, eps_inside_sqrt=True),
    ),
    (
        "lecture-rmsprop-leaky",
        lecture_rmsprop,
        lambda s, a: dict(lr=a, zeta=0.99),
        lambda s, a: RMSprop(a, alpha=0.99, eps_inside_sqrt=True),
    ),
    (
        "lecture-adam",
        lecture_adam,
        lambda s, a: dict(lr=a, alpha1=0.9, zeta=0.999),
        lambda s, a: Adam(a, bias_correction=False, eps_inside_sqrt=True),
    ),
    (
        "adam-no-bias-correction",
        adam_variant,
        lambda s, a: dict(lr=a, beta1=0.9, beta2=0.999, eps=1e-8, bias_correction=False, inside=0),
        lambda s, a: Adam(a, bias_correction=False),
    ),
    (
        "adam-eps-inside-sqrt",
        adam_variant,
        lambda s, a: dict(lr=a, beta1=0.9, beta2=0.99, eps=1e-7, bias_correction=True, inside=1),
        lambda s, a: Adam(a, betas=(0.9, 0.99), eps_inside_sqrt=True),
    ),
]


def run_against_reference(reference, config, ours, problem):
    f_ref, x0, _, _ = PROBLEMS[problem]()
    f_ours, _, _, _ = PROBLEMS[problem]()
    x_ref, x_ours, state = x0.copy(), x0.copy(), {"t": 0}
    for step in range(STEPS):
        loss_ref = reference(f_ref, x_ref, config, state)
        loss_ours = ours.step(f_ours, x_ours)
        yield step, x_ours, x_ref, loss_ours, loss_ref


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("name, reference, config, make", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_variant_matches_reference(name, reference, config, make, problem):
    _, x0, sgd_lr, adaptive_lr = PROBLEMS[problem]()
    config = config(sgd_lr, adaptive_lr)
    config.setdefault("t", 0)
    ours = make(sgd_lr, adaptive_lr)
    moved = 0.0
    runs = run_against_reference(reference, config, ours, problem)
    for step, x_ours, x_ref, loss_ours, loss_ref in runs:
        error = np.max(np.abs(x_ours - x_ref)) / np.max(np.abs(x_ref))
        assert error <= RELATIVE_TOLERANCE, f"step {step}: relative difference {error:.3g}"
        # Both return the loss where they called f (torch7's nag: the look-ahead point).
        assert loss_ours == pytest.approx(loss_ref, rel=1e-9, abs=1e-12)
        moved = max(moved, np.max(np.abs(x_ref - x0)))
    assert moved > 1e-2


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_adam_eps_hat_matches_scikit_learn(sklearn, problem):
    """scikit-learn's MLP Adam also adds eps to the uncorrected root."""
    stochastic = pytest.importorskip("sklearn.neural_network._stochastic_optimizers")
    f_ref, x0, _, lr = PROBLEMS[problem]()
    f_ours, _, _, _ = PROBLEMS[problem]()
    x_ref, x_ours = x0.copy(), x0.copy()
    reference = stochastic.AdamOptimizer([x_ref], learning_rate_init=lr, epsilon=1e-6)
    ours = Adam(lr, eps=1e-6, eps_hat=True)
    for step in range(STEPS):
        reference.update_params([x_ref], [f_ref(x_ref)[1].copy()])
        ours.step(f_ours, x_ours)
        error = np.max(np.abs(x_ours - x_ref)) / np.max(np.abs(x_ref))
        assert error <= RELATIVE_TOLERANCE, f"step {step}: relative difference {error:.3g}"


def test_lecture_and_pytorch_momentum_differ_once_lr_changes():
    """Same iterates at a constant lr; different as soon as a schedule changes lr."""
    f, x0, lr, _ = quadratic()
    decay = ExponentialDecay(lr, 0.05)
    trajectories = {}
    for form in ("pytorch", "lecture"):
        for rate in ("constant", "decaying"):
            opt = SGD(lr if rate == "constant" else decay, momentum=0.9, momentum_form=form)
            x = x0.copy()
            for _ in range(50):
                opt.step(f, x)
            trajectories[form, rate] = x
    gap = {
        rate: np.max(np.abs(trajectories["pytorch", rate] - trajectories["lecture", rate]))
        for rate in ("constant", "decaying")
    }
    assert gap["constant"] < 1e-12
    assert gap["decaying"] > 1e-3


def test_lecture_velocity_is_minus_lr_times_pytorch_buffer():
    f, x0, lr, _ = quadratic()
    states = {}
    for form in ("pytorch", "lecture"):
        opt, x = SGD(lr, momentum=0.9, momentum_form=form), x0.copy()
        for _ in range(10):
            opt.step(f, x)
        states[form] = opt.state_dict()["momentum_buffer"]
    np.testing.assert_allclose(states["lecture"], -lr * states["pytorch"], rtol=1e-9)


def test_nag_keeps_real_parameters_shifted_from_lecture_form():
    """torch7's nag and the lecture's look-ahead form are one sequence, shifted by mu*v."""
    f, x0, lr, _ = quadratic()
    nag = SGD(lr, momentum=0.9, nesterov=True, momentum_form="lecture", lookahead_gradient=True)
    shifted = SGD(lr, momentum=0.9, nesterov=True, momentum_form="lecture")
    x_real, x_ahead = x0.copy(), x0.copy()
    for _ in range(100):
        nag.step(f, x_real)
        shifted.step(f, x_ahead)
        look_ahead = x_real + 0.9 * nag.state["momentum_buffer"]
        np.testing.assert_allclose(look_ahead, x_ahead, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_moving_averages_keep_pytorchs_groupings(dtype):
    """Gradients are averaged as a lerp, squares as mul-then-add (PyTorch's forms); the
    other grouping differs in the last bits, which is why there are two helpers."""
    rng = np.random.default_rng(5)
    beta, n = 0.9, 1000
    avg, value = (rng.standard_normal(n).astype(dtype) for _ in range(2))
    work = np.empty_like(avg)
    c, b = dtype(1 - beta), dtype(beta)
    lerp = avg + (value - avg) * c
    mul_add = avg * b + (value * value) * c

    out = moving_average(avg.copy(), value, beta, work)
    np.testing.assert_array_equal(out, lerp)
    assert np.any(out != avg * b + value * c)
    out = moving_average_of_squares(avg.copy(), value, beta, work)
    np.testing.assert_array_equal(out, mul_add)
    assert np.any(out != avg + (value * value - avg) * c)
    assert out.dtype == dtype


def test_moving_averages_update_in_place():
    avg, value, work = np.ones(4), np.full(4, 3.0), np.empty(4)
    assert moving_average(avg, value, 0.75, work) is avg
    np.testing.assert_array_equal(avg, np.full(4, 1.5))
    assert moving_average_of_squares(avg, value, 0.5, work) is avg
    np.testing.assert_array_equal(avg, np.full(4, 0.75 + 4.5))
