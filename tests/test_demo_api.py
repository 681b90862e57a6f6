"""``gradwise demo``'s server through Starlette's test client: the page and its files, the
Host/Origin refusal, every message type (its numbers against the library's own), every bad
input (one error line, the state unchanged, the tab still served) and many tabs."""

import base64
import json

import numpy as np
import pytest

pytest.importorskip("starlette", reason='the demo needs its extra: pip install "gradwise[demo]"')
pytest.importorskip("httpx2", reason="Starlette's test client needs httpx2")

from starlette.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

import gradwise as gw  # noqa: E402
from demo_helpers import Asker, small_cifar  # noqa: E402
from gradwise.demo import limits  # noqa: E402
from gradwise.demo.app import create_app  # noqa: E402
from gradwise.demo.session import HANDLERS  # noqa: E402

HOST, PORT = "127.0.0.1", 8765
BASE = f"http://{HOST}:{PORT}"
SOCKET = f"ws://{HOST}:{PORT}/ws"


@pytest.fixture(scope="module")
def dataset():
    return small_cifar()


@pytest.fixture(scope="module")
def client(dataset):
    return TestClient(create_app(HOST, PORT, dataset, max_sessions=4), base_url=BASE)


@pytest.fixture
def tab(client):
    with client.websocket_connect(SOCKET, headers={"origin": BASE}) as ws:
        ask = Asker(ws, ws.receive_json, ws.send_text)
        ask.hello = ws.receive_json()
        yield ask


# -- the page, and who may load it -----------------------------------------------------


def test_the_page_and_its_files_are_served_with_a_strict_policy(client):
    page = client.get("/")
    assert page.status_code == 200 and "<canvas" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    for name, kind in (("demo.js", "javascript"), ("demo.css", "css")):
        served = client.get(f"/static/{name}")
        assert served.status_code == 200 and kind in served.headers["content-type"]
    # Nothing else: no other name, no path out of the package.
    for path in ("/static/index.py", "/static/..%2F__init__.py", "/static/../app.py", "/x"):
        assert client.get(path).status_code == 404, path


def test_the_page_uses_no_network_but_its_own_server():
    from importlib import resources

    static = resources.files("gradwise.demo") / "static"
    for name in ("index.html", "demo.js", "demo.css"):
        text = (static / name).read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text, name
        assert "fetch(" not in text and "XMLHttpRequest" not in text, name


@pytest.mark.parametrize(
    "headers",
    [
        {"host": "evil.example"},
        {"host": f"{HOST}:{PORT + 1}"},
        {"origin": "http://evil.example"},
        {"origin": f"http://{HOST}:{PORT + 1}"},
        {"origin": "null"},
    ],
)
def test_http_from_another_host_or_origin_is_refused(client, headers):
    response = client.get("/", headers=headers)
    assert response.status_code == 403
    assert response.text.startswith("refused:")


def test_localhost_is_the_same_server(client):
    assert client.get("/", headers={"host": f"localhost:{PORT}"}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},  # a WebSocket must say its Origin
        {"origin": "http://evil.example"},
        {"origin": BASE, "host": "evil.example"},
    ],
)
def test_a_websocket_from_another_origin_is_refused(client, headers):
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect(SOCKET, headers=headers):
            pass
    assert refused.value.code == 1008


# -- hello: what the page may ask for ----------------------------------------------------


def test_hello_names_the_library_registries(tab):
    hello = tab.hello
    assert hello["losses"] == list(gw.nn.LOSSES)
    assert hello["optimizers"] == gw.optim.names()
    assert hello["surfaces"] == gw.landscape.surface_names()
    assert hello["race_defaults"] == list(gw.landscape.default_optimizers())
    assert hello["limits"]["max_points"] == limits.MAX_POINTS
    assert hello["training"]["losses"] == list(gw.nn.LOSSES)  # each trains its own loss


def test_every_message_type_is_tested_here():
    tested = {
        "plane.get", "plane.randomise", "plane.set", "plane.step", "plane.add_point",
        "plane.move_point", "plane.delete_point", "plane.drag_line", "race.get",
        "race.setup", "race.step", "race.reset", "race.value", "train.info", "train.start",
        "train.stop", "train.explain",
    }  # fmt: skip
    assert set(HANDLERS) == tested


# -- view 1 -------------------------------------------------------------------------------


def library_losses(state):
    """The data and L2 losses of a view-1 state, computed here with gradwise itself."""
    W, b = np.array(state["W"]), np.array(state["b"])
    scores = np.array(state["points"]) @ W.T + b
    labels = np.array(state["labels"])
    data = gw.nn.loss_named(state["loss"])(scores, labels)
    return data, state["reg"] * float(np.sum(W * W)), scores


@pytest.mark.parametrize("loss", list(gw.nn.LOSSES))
def test_steps_lower_the_loss_the_library_computes(tab, loss):
    state = tab("plane.set", loss=loss, reg=0.05, lr=0.2)
    data, reg, scores = library_losses(state)
    assert state["data_loss"] == pytest.approx(data, rel=1e-12)
    assert state["reg_loss"] == pytest.approx(reg, rel=1e-12)
    assert state["total_loss"] == pytest.approx(data + reg, rel=1e-12)
    np.testing.assert_allclose(state["scores"], scores, rtol=1e-12)
    per_point = [
        gw.nn.loss_named(loss, reduction="sum")(scores[i : i + 1], [state["labels"][i]])
        for i in range(len(scores))
    ]
    np.testing.assert_allclose(state["point_losses"], per_point, rtol=1e-12, atol=1e-15)
    stepped = tab("plane.step", steps=20)
    assert stepped["total_loss"] < state["total_loss"]
    data, reg, _ = library_losses(stepped)
    assert stepped["total_loss"] == pytest.approx(data + reg, rel=1e-12)


def test_a_step_is_the_registry_sgd_on_the_library_objective(tab):
    state = tab("plane.set", loss="softmax", reg=0.1, lr=0.3)
    model = gw.nn.Linear(2, len(state["b"]), init="zeros", dtype=np.float64)
    x, _ = gw.nn.flatten(model)
    model.weight[...] = np.array(state["W"]).T
    model.bias[...] = state["b"]
    f = gw.objective(model, gw.nn.SoftmaxCrossEntropy(), np.array(state["points"]),
                     np.array(state["labels"]), gw.nn.L2(0.1))  # fmt: skip
    sgd = gw.optim.get("sgd", lr=0.3)
    for _ in range(3):
        sgd.step(f, x)
    stepped = tab("plane.step", steps=3)
    np.testing.assert_allclose(stepped["W"], model.weight.T, rtol=1e-12)
    np.testing.assert_allclose(stepped["b"], model.bias, rtol=1e-12)


def test_the_background_is_the_winning_class(tab):
    state = tab("plane.get")
    grid, e = state["grid"], state["extent"]
    winners = base64.b64decode(state["winners"])
    assert len(winners) == grid * grid
    W, b = np.array(state["W"]), np.array(state["b"])
    for row, col in ((0, 0), (grid - 1, grid - 1), (grid // 3, 2 * grid // 3)):
        x = -e + (col + 0.5) * 2 * e / grid
        y = e - (row + 0.5) * 2 * e / grid
        assert winners[row * grid + col] == int(np.argmax(W @ [x, y] + b))


def test_points_are_added_moved_and_deleted(tab):
    n = len(tab("plane.get")["labels"])
    added = tab("plane.add_point", point=[1.5, -2.0], label=2)
    assert len(added["labels"]) == n + 1 and added["points"][-1] == [1.5, -2.0]
    assert added["labels"][-1] == 2
    moved = tab("plane.move_point", index=n, point=[-0.5, 0.25])
    assert moved["points"][n] == [-0.5, 0.25]
    assert tab("plane.delete_point", index=n)["points"] == added["points"][:n]


def test_dragging_a_line_shifts_and_turns_it(tab):
    shifted = tab("plane.drag_line", **{"class": 1, "handle": "shift", "point": [0.5, 1.0]})
    W, b = np.array(shifted["W"]), np.array(shifted["b"])
    assert W[1] @ [0.5, 1.0] + b[1] == pytest.approx(0, abs=1e-12)  # through the point
    anchor = np.array(shifted["anchors"][1])
    turned = tab("plane.drag_line", **{"class": 1, "handle": "rotate", "point": [-2.0, 2.0]})
    W2, b2 = np.array(turned["W"]), np.array(turned["b"])
    towards = np.array([-2.0, 2.0]) - anchor
    np.testing.assert_allclose(W2[1] / np.linalg.norm(W2[1]), towards / np.linalg.norm(towards))
    assert np.linalg.norm(W2[1]) == pytest.approx(np.linalg.norm(W[1]))  # same length
    assert W2[1] @ anchor + b2[1] == pytest.approx(0, abs=1e-12)  # about its anchor
    np.testing.assert_array_equal(W2[[0, 2]], W[[0, 2]])  # the other lines stay
    pivot = [1.0, -0.5]
    about = tab("plane.drag_line", **{"class": 0, "handle": "rotate", "point": [2.0, 0.5],
                                       "pivot": pivot})  # fmt: skip
    W3, b3 = np.array(about["W"]), np.array(about["b"])
    assert W3[0] @ pivot + b3[0] == pytest.approx(0, abs=1e-12)
    np.testing.assert_allclose(W3[0] / np.linalg.norm(W3[0]), [1 / np.sqrt(2), 1 / np.sqrt(2)])


def test_randomise_makes_the_classes_asked_for(tab):
    state = tab("plane.randomise", classes=5, points_per_class=7, seed=3)
    assert len(state["W"]) == 5 and sorted(set(state["labels"])) == list(range(5))
    assert len(state["labels"]) == 35 and len(state["class_colors"]) == 5
    assert tab("plane.randomise", classes=5, points_per_class=7, seed=3) == {
        **state, "id": state["id"] + 1
    }


# -- view 2 -------------------------------------------------------------------------------


def test_a_race_follows_the_library_paths(tab):
    state = tab("race.setup", surface="rosenbrock", start=[-1.0, 2.0],
                optimizers=[{"name": "adam", "lr": 0.05}, {"name": "momentum"},
                            {"name": "sgd", "options": {"momentum": 0.5}}])  # fmt: skip
    assert [r["name"] for r in state["racers"]] == ["adam", "momentum", "sgd"]
    assert state["racers"][0]["color"] == gw.optim.spec("adam").color
    assert state["background"].startswith("data:image/png;base64,")
    first = tab("race.step", steps=7)
    second = tab("race.step", steps=5)
    assert second["steps"] == 12
    expected = {
        "adam": gw.optim.get("adam", lr=0.05),
        "momentum": gw.landscape.make_optimizer("momentum", "rosenbrock"),
        "sgd": gw.optim.get("sgd", lr=gw.landscape.default_lr("rosenbrock", "sgd"),
                            momentum=0.5),
    }  # fmt: skip
    for name, optimizer in expected.items():
        path = gw.landscape.trace(optimizer, "rosenbrock", start=[-1.0, 2.0], steps=12)
        got = first["paths"][name]["positions"] + second["paths"][name]["positions"]
        np.testing.assert_allclose(got, path.positions[1:], rtol=1e-12)
        values = first["paths"][name]["values"] + second["paths"][name]["values"]
        np.testing.assert_allclose(values, path.values[1:], rtol=1e-12)


def test_a_race_resets_and_probes_the_surface(tab):
    tab("race.setup", surface="himmelblau")
    tab("race.step", steps=10)
    reset = tab("race.reset", start=[1.0, -1.0])
    assert reset["steps"] == 0 and reset["start"] == [1.0, -1.0]
    assert tab("race.step", steps=1)["steps"] == 1
    probe = tab("race.value", point=[0.5, -2.0])
    assert probe["value"] == gw.landscape.get_surface("himmelblau").value(0.5, -2.0)
    assert tab("race.get")["surface"] == "himmelblau"


def test_a_diverging_path_stops_and_says_why(tab):
    tab("race.setup", surface="saddle", optimizers=[{"name": "adam", "lr": 1.0}])
    moved = tab("race.step", steps=200)["paths"]["adam"]
    assert moved["stopped"] and len(moved["positions"]) < 200
    assert tab("race.step", steps=5)["paths"]["adam"]["positions"] == []


# -- view 3 -------------------------------------------------------------------------------


def test_training_streams_every_epoch_and_explains_a_test_image(tab, dataset):
    info = tab("train.info")
    assert info["classes"] == list(dataset.classes) and info["n_test"] == len(dataset.y_test)
    assert tab("train.explain", index=0)["type"] == "error"  # no weights yet
    accepted = tab("train.start", loss="svm", optimizer="momentum", epochs=3, batch_size=128)
    assert accepted["type"] == "train.accepted"
    started = tab.wait_for("train.started")
    assert started["steps_per_epoch"] == -(-len(dataset.y_train) // 128)
    epochs = [tab.wait_for("train.epoch") for _ in range(3)]
    assert [e["record"]["epoch"] for e in epochs] == [1, 2, 3]
    assert epochs[-1]["record"]["train_loss"] < epochs[0]["record"]["train_loss"]
    assert all(e["templates"].startswith("data:image/png;base64,") for e in epochs)
    assert tab.wait_for("train.done")["stop_reason"] == "completed"
    explained = tab("train.explain", index=5)
    scores = np.array([explained["scores"]])
    label = int(dataset.y_test[5])
    assert explained["label"] == label
    np.testing.assert_allclose(explained["probabilities"], gw.nn.softmax(scores)[0])
    for name, value in explained["losses"].items():
        assert value == pytest.approx(gw.nn.loss_named(name)(scores, [label]), rel=1e-12)
    assert sum(explained["margins"]) == pytest.approx(explained["losses"]["svm"], rel=1e-9)


def test_training_stops_when_asked(tab):
    tab("train.start", epochs=limits.MAX_EPOCHS, batch_size=8)
    tab.wait_for("train.step")
    assert tab("train.stop")["type"] == "train.stopping"
    assert tab.wait_for("train.done")["stop_reason"] == "stopped from the page"


# -- bad input ----------------------------------------------------------------------------

BAD = [
    ({"type": "nothing"}, "unknown message type"),
    ({"type": "plane.step", "steps": limits.MAX_STEPS + 1}, "steps must be an integer <="),
    ({"type": "plane.step", "steps": 0}, "steps must be an integer >= 1"),
    ({"type": "plane.step", "steps": True}, "steps must be an integer"),
    ({"type": "plane.step", "steps": 1.5}, "steps must be an integer"),
    ({"type": "plane.set", "loss": "hinge-ish"}, "loss must be one of"),
    ({"type": "plane.set", "loss": 3}, "loss must be a name"),
    ({"type": "plane.set", "reg": -1}, "reg must be in"),
    ({"type": "plane.set", "reg": "1"}, "reg must be a real number"),
    ({"type": "plane.set", "lr": 0}, "lr must be in"),
    ({"type": "plane.set", "lr": 1e9}, "lr must be in"),
    ({"type": "plane.set", "W": [[1, 2]]}, "W must be 3 rows"),
    ({"type": "plane.set", "W": [[1, 2], [3, 4], [5, "x"]]}, "W[2][1] must be a real"),
    ({"type": "plane.set", "b": [0, 0, 1e6]}, "b[2] must be in"),
    ({"type": "plane.add_point", "point": [9, 0], "label": 0}, "point x must be in"),
    ({"type": "plane.add_point", "point": [0, 0], "label": 7}, "label must be an integer <="),
    ({"type": "plane.add_point", "point": [0], "label": 0}, "point must be two numbers"),
    ({"type": "plane.add_point", "label": 0}, "the field 'point' is missing"),
    ({"type": "plane.move_point", "index": 10**6, "point": [0, 0]}, "index must be an integer"),
    ({"type": "plane.delete_point", "index": -1}, "index must be an integer >= 0"),
    ({"type": "plane.drag_line", "class": 0, "handle": "spin", "point": [0, 0]}, "handle must"),
    ({"type": "plane.drag_line", "class": 9, "handle": "shift", "point": [0, 0]}, "class must"),
    ({"type": "plane.drag_line", "class": 0, "handle": "rotate", "point": [0, 0],
      "pivot": [0, 99]}, "pivot y must be in"),
    ({"type": "plane.randomise", "classes": 2}, "classes must be an integer >= 3"),
    ({"type": "plane.randomise", "classes": 99}, "classes must be an integer <= 6"),
    ({"type": "plane.randomise", "points_per_class": 10**6}, "points_per_class must be"),
    ({"type": "plane.randomise", "classes": 6, "points_per_class": limits.MAX_POINTS_PER_CLASS},
     f"over the {limits.MAX_POINTS} points"),
    ({"type": "race.setup", "surface": "../../etc/passwd"}, "surface must be one of"),
    ({"type": "race.setup", "optimizers": []}, "optimizers must be a list of 1 to"),
    ({"type": "race.setup", "optimizers": [{"name": "adam"}] * 9}, "optimizers must be a list"),
    ({"type": "race.setup", "optimizers": [{"name": "adam"}, {"name": "adam"}]}, "race once"),
    ({"type": "race.setup", "optimizers": [{"name": "os.system"}]}, "optimizer must be one of"),
    ({"type": "race.setup", "optimizers": [{"lr": 0.1}]}, "each optimizer needs a 'name'"),
    ({"type": "race.setup", "optimizers": ["adam"]}, "each optimizer must be an object"),
    ({"type": "race.setup", "optimizers": [{"name": "adam", "lr": -1}]}, "adam lr must be in"),
    ({"type": "race.setup", "optimizers": [{"name": "adam", "options": {"bogus": 1}}]},
     "bogus"),
    ({"type": "race.setup", "optimizers": [{"name": "sgd", "options": {"__class__": 1}}]},
     "is not an option name"),
    ({"type": "race.setup", "optimizers": [{"name": "sgd", "options": {"momentum": "x"}}]},
     "momentum must be a number"),
    ({"type": "race.setup", "optimizers": [{"name": "sgd", "options": {"momentum": -1}}]},
     "momentum"),
    ({"type": "race.setup", "surface": "beale", "start": [99, 0]}, "start x must be in"),
    ({"type": "race.step", "steps": 10**9}, "steps must be an integer <="),
    ({"type": "race.value", "point": [0, 1e9]}, "point y must be in"),
    ({"type": "race.reset", "start": "here"}, "start must be two numbers"),
    ({"type": "train.start", "optimizer": "lbfgs"}, "optimizer must be one of"),
    ({"type": "train.start", "loss": "nope"}, "loss must be one of"),
    ({"type": "train.start", "epochs": limits.MAX_EPOCHS + 1}, "epochs must be an integer <="),
    ({"type": "train.start", "batch_size": 0}, "batch_size must be an integer >= 1"),
    ({"type": "train.start", "schedule": "warp:9"}, "schedule"),
    ({"type": "train.start", "schedule": "x" * 100}, "schedule must be a short string"),
    ({"type": "train.start", "lr": float("nan")}, "NaN is not a number"),
    ({"type": "train.explain", "index": 10**6}, "index must be an integer <="),
    ({"type": "plane.get", "id": -1}, "id must be an integer >= 0"),
]  # fmt: skip


@pytest.mark.parametrize("message, says", BAD, ids=[f"{m['type']}-{i}" for i, (m, _) in
                                                     enumerate(BAD)])  # fmt: skip
def test_a_bad_message_gets_one_error_line_and_changes_nothing(tab, message, says):
    before_plane, before_race = tab("plane.get"), tab("race.get")
    error = tab.raw(json.dumps(message))  # NaN is written as the page cannot: NaN
    assert error["type"] == "error" and says in error["message"], error
    assert "\n" not in error["message"]
    after_plane, after_race = tab("plane.get"), tab("race.get")
    assert {**after_plane, "id": 0} == {**before_plane, "id": 0}
    assert {**after_race, "id": 0} == {**before_race, "id": 0}


@pytest.mark.parametrize(
    "text, says",
    [
        ("not json", "a message must be JSON"),
        ("[1, 2]", "a message must be a JSON object"),
        ('{"no": "type"}', "needs a string field 'type'"),
        ('{"type": "plane.step", "steps": Infinity}', "Infinity is not a number"),
        ("[" * 100_000, f"at most {limits.MAX_MESSAGE_BYTES} bytes"),
        ('{"type": "plane.get", "x": ' + "[" * 5000 + "]" * 5000 + "}", "must be JSON"),
    ],
)
def test_malformed_text_gets_one_error_line(tab, text, says):
    error = tab.raw(text)
    assert error["type"] == "error" and says in error["message"]
    assert tab("plane.get")["type"] == "plane.state"  # still served


def test_the_last_point_stays(tab):
    state = tab("plane.randomise", classes=3, points_per_class=1)
    tab("plane.delete_point", index=0)
    tab("plane.delete_point", index=0)
    error = tab("plane.delete_point", index=0)
    assert error["type"] == "error" and "at least one point" in error["message"]
    assert len(state["labels"]) == 3


def test_points_are_bounded(tab):
    tab("plane.randomise", classes=3, points_per_class=limits.MAX_POINTS_PER_CLASS)
    error = tab("plane.add_point", point=[0, 0], label=0)
    assert error["type"] == "error" and f"at most {limits.MAX_POINTS} points" in error["message"]


# -- many tabs ----------------------------------------------------------------------------


def test_each_tab_has_its_own_state_and_the_number_of_tabs_is_bounded(client):
    app = client.app.app  # inside the Host/Origin guard
    tabs = app.state.tabs
    with client.websocket_connect(SOCKET, headers={"origin": BASE}) as first:
        first.receive_json()
        ask_first = Asker(first, first.receive_json, first.send_text)
        opened = []
        for _ in range(3):
            ws = client.websocket_connect(SOCKET, headers={"origin": BASE}).__enter__()
            ws.receive_json()
            opened.append(ws)
        assert len(tabs.open) == 4
        with client.websocket_connect(SOCKET, headers={"origin": BASE}) as refused:
            assert "tabs are open" in refused.receive_json()["message"]
            with pytest.raises(WebSocketDisconnect) as closed:
                refused.receive_json()
            assert closed.value.code == 1013
        ask_other = Asker(opened[0], opened[0].receive_json, opened[0].send_text)
        ask_other("plane.randomise", classes=6, points_per_class=2, seed=1)
        assert len(ask_first("plane.get")["W"]) == 3  # not the other tab's six classes
        for ws in opened:
            ws.__exit__(None, None, None)
        assert len(tabs.open) == 1  # closed tabs' state is dropped
        with client.websocket_connect(SOCKET, headers={"origin": BASE}) as again:
            assert again.receive_json()["type"] == "hello"
    assert not tabs.open


def test_closing_a_tab_stops_its_training(client):
    tabs = client.app.app.state.tabs
    with client.websocket_connect(SOCKET, headers={"origin": BASE}) as ws:
        ws.receive_json()
        ask = Asker(ws, ws.receive_json, ws.send_text)
        ask("train.start", epochs=limits.MAX_EPOCHS, batch_size=8)
        ask.wait_for("train.step")
        (session,) = tabs.open
    session.trainer.join(timeout=20)
    assert not session.trainer.running


def test_the_own_names_of_a_server():
    from gradwise.demo.guard import own_origins

    assert own_origins("127.0.0.1", 80) == {"127.0.0.1:80", "localhost:80"}
    assert own_origins("::1", 8765) == {"[::1]:8765"}
    assert own_origins("box.lan", 1) == {"box.lan:1"}


def test_a_fault_of_the_server_is_an_error_line_and_the_tab_lives_on(tab, monkeypatch, capsys):
    def broken(session, message):
        raise RuntimeError("a bug")

    monkeypatch.setitem(HANDLERS, "race.get", broken)
    error = tab("race.get")
    assert error["type"] == "error" and "internal error (RuntimeError)" in error["message"]
    assert tab("plane.get")["type"] == "plane.state"
