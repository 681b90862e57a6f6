// gradwise demo: this page only draws what the server computes and sends what the user
// does. Every loss, gradient step, path, surface, template and score comes from gradwise
// over the WebSocket of this tab; nothing here re-implements the maths.
"use strict";

const gwDemo = { hello: null, plane: null, race: null, train: { steps: [], epochs: [] } };
window.gwDemo = gwDemo;

// -- the connection: one WebSocket, requests matched to replies by id ---------------------

let socket = null;
let nextId = 1;
const pending = new Map();

function connect() {
  socket = new WebSocket(`ws://${location.host}/ws`);
  socket.addEventListener("message", (event) => receive(JSON.parse(event.data)));
  socket.addEventListener("close", () => {
    setText("connection", "disconnected: reload the page");
    for (const { reject } of pending.values()) reject(new Error("disconnected"));
    pending.clear();
  });
}

function request(message) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    socket.send(JSON.stringify({ ...message, id }));
  });
}

function receive(message) {
  if (message.id !== undefined && pending.has(message.id)) {
    const { resolve, reject } = pending.get(message.id);
    pending.delete(message.id);
    if (message.type === "error") {
      showError(message.message);
      reject(new Error(message.message));
    } else {
      resolve(message);
    }
    return;
  }
  const handler = PUSHED[message.type];
  if (handler) handler(message);
}

const PUSHED = {
  hello: (m) => start(m),
  error: (m) => showError(m.message),
  "train.started": (m) => trainStarted(m),
  "train.step": (m) => trainStep(m),
  "train.epoch": (m) => trainEpoch(m),
  "train.done": (m) => trainDone(m),
};

function showError(text) {
  const bar = document.getElementById("error");
  bar.textContent = text;
  bar.hidden = false;
  bar.dataset.count = String(Number(bar.dataset.count || 0) + 1);
}

function clearError() {
  document.getElementById("error").hidden = true;
}

// Send a user's action; an error is shown on the page (and the state stays as it was).
function act(message) {
  clearError();
  return request(message).catch(() => null);
}

// -- small helpers ------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

function setText(id, text) {
  $(id).textContent = text;
}

function fmt(value, digits = 4) {
  if (value === null || value === undefined) return "–";
  return Number(value).toFixed(digits);
}

function setNumber(id, value, digits = 4) {
  const cell = $(id);
  cell.textContent = fmt(value, digits);
  cell.dataset.value = value === null ? "" : String(value);
}

function option(select, value, text) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = text === undefined ? value : text;
  select.appendChild(o);
}

function numberOrNull(input) {
  return input.value.trim() === "" ? null : Number(input.value);
}

function row(table, cells, header = false) {
  const tr = table.insertRow();
  cells.forEach((c, i) => {
    const cell = document.createElement(header || i === 0 ? "th" : "td");
    if (c instanceof Node) cell.appendChild(c);
    else cell.textContent = c;
    tr.appendChild(cell);
  });
  return tr;
}

function swatch(color) {
  const s = document.createElement("span");
  s.className = "swatch";
  s.style.background = color;
  return s;
}

// One request of a kind in flight at a time; the newest waiting one replaces older ones
// (a drag sends where the pointer is now, not every place it has been).
function latestOnly(send) {
  let busy = false;
  let waiting = null;
  return function push(message) {
    if (busy) {
      waiting = message;
      return;
    }
    busy = true;
    send(message).finally(() => {
      busy = false;
      if (waiting) {
        const next = waiting;
        waiting = null;
        push(next);
      }
    });
  };
}

// -- start: the server's hello says which names and bounds this page may use -------------

function start(hello) {
  gwDemo.hello = hello;
  setText("connection", "connected");
  for (const tab of document.querySelectorAll(".view-tab")) {
    tab.addEventListener("click", () => showView(tab.dataset.view));
  }
  setUpPlane(hello);
  setUpRace(hello);
  setUpTrain(hello);
  showView(location.hash.slice(1) || "plane");
}

function showView(name) {
  if (!["plane", "race", "train"].includes(name)) name = "plane";
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== `view-${name}`;
  for (const tab of document.querySelectorAll(".view-tab")) {
    tab.classList.toggle("active", tab.dataset.view === name);
  }
  if (name !== "race") stopRace();
  if (name !== "plane") stopPlane();
  document.body.dataset.view = name;
}

// -- view 1: the linear classifier on 2-D points ------------------------------------------

const plane = { running: false, drag: null, steps: 0 };

function setUpPlane(hello) {
  for (const name of hello.losses) option($("plane-loss"), name);
  for (let c = hello.limits.min_classes; c <= hello.limits.max_classes; c++) {
    option($("plane-classes"), c);
  }
  $("plane-loss").addEventListener("change", () => act({ type: "plane.set", loss: $("plane-loss").value }).then(drawPlane));
  $("plane-reg").addEventListener("change", () => act({ type: "plane.set", reg: Number($("plane-reg").value) }).then(drawPlane));
  $("plane-lr").addEventListener("change", () => act({ type: "plane.set", lr: Number($("plane-lr").value) }).then(drawPlane));
  $("plane-step").addEventListener("click", () => planeStep());
  $("plane-run").addEventListener("click", () => (plane.running ? stopPlane() : runPlane()));
  $("plane-randomise").addEventListener("click", () => {
    plane.steps = 0;
    act({ type: "plane.randomise", classes: Number($("plane-classes").value),
          seed: Math.floor(Math.random() * 1e9) }).then(drawPlane);
  });
  const canvas = $("plane-canvas");
  canvas.addEventListener("pointerdown", planePointerDown);
  canvas.addEventListener("pointermove", planePointerMove);
  canvas.addEventListener("pointerup", planePointerUp);
  canvas.addEventListener("dblclick", planeDoubleClick);
  plane.sendDrag = latestOnly((m) => act(m).then(drawPlane));
  request({ type: "plane.get" }).then(drawPlane);
}

function planeStep() {
  return act({ type: "plane.step", steps: 1 }).then((state) => {
    if (state) plane.steps += 1;
    drawPlane(state);
    return state;
  });
}

function runPlane() {
  plane.running = true;
  setText("plane-run", "pause");
  const loop = () => {
    if (!plane.running) return;
    planeStep().then((state) => (state ? requestAnimationFrame(loop) : stopPlane()));
  };
  loop();
}

function stopPlane() {
  plane.running = false;
  setText("plane-run", "run");
}

function toPlane(canvas, px, py) {
  const e = gwDemo.plane.extent;
  return [(px / canvas.width * 2 - 1) * e, (1 - py / canvas.height * 2) * e];
}

function toCanvas(canvas, x, y) {
  const e = gwDemo.plane.extent;
  return [(x / e + 1) / 2 * canvas.width, (1 - y / e) / 2 * canvas.height];
}

function eventPoint(canvas, event) {
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * canvas.width / box.width,
          (event.clientY - box.top) * canvas.height / box.height];
}

// The tip of class c's rotation handle: along its normal W_c, a fixed length from the anchor.
const TIP_LENGTH = 0.7;

function lineHandles(state, c) {
  const [wx, wy] = state.W[c];
  const norm = Math.hypot(wx, wy) || 1;
  const [ax, ay] = state.anchors[c];
  return { anchor: [ax, ay], tip: [ax + TIP_LENGTH * wx / norm, ay + TIP_LENGTH * wy / norm] };
}

function hitTest(canvas, px, py) {
  const state = gwDemo.plane;
  const near = (x, y, r) => {
    const [cx, cy] = toCanvas(canvas, x, y);
    return Math.hypot(cx - px, cy - py) <= r;
  };
  for (let c = 0; c < state.W.length; c++) {
    const { anchor, tip } = lineHandles(state, c);
    if (near(...tip, 9)) return { kind: "line", handle: "rotate", c };
    if (near(...anchor, 9)) return { kind: "line", handle: "shift", c };
  }
  for (let i = state.points.length - 1; i >= 0; i--) {
    if (near(...state.points[i], 7)) return { kind: "point", index: i };
  }
  return null;
}

function planePointerDown(event) {
  const canvas = event.currentTarget;
  const [px, py] = eventPoint(canvas, event);
  const hit = hitTest(canvas, px, py);
  if (hit) {
    // A line turns about the anchor it had when the drag began.
    if (hit.kind === "line") hit.pivot = gwDemo.plane.anchors[hit.c];
    plane.drag = hit;
    canvas.setPointerCapture(event.pointerId);
  } else {
    act({ type: "plane.add_point", point: toPlane(canvas, px, py),
          label: Number($("plane-label").value) }).then(drawPlane);
  }
}

function planePointerMove(event) {
  if (!plane.drag) return;
  const canvas = event.currentTarget;
  const p = toPlane(canvas, ...eventPoint(canvas, event));
  const e = gwDemo.plane.extent;
  if (plane.drag.kind === "line") {
    const clamp = (v) => Math.max(-2 * e, Math.min(2 * e, v));
    const message = { type: "plane.drag_line", class: plane.drag.c, handle: plane.drag.handle,
                      point: p.map(clamp) };
    if (plane.drag.handle === "rotate") message.pivot = plane.drag.pivot.map(clamp);
    plane.sendDrag(message);
  } else {
    plane.sendDrag({ type: "plane.move_point", index: plane.drag.index,
                     point: p.map((v) => Math.max(-e, Math.min(e, v))) });
  }
}

function planePointerUp() {
  plane.drag = null;
}

function planeDoubleClick(event) {
  const canvas = event.currentTarget;
  const hit = hitTest(canvas, ...eventPoint(canvas, event));
  if (hit && hit.kind === "point") {
    act({ type: "plane.delete_point", index: hit.index }).then(drawPlane);
  }
}

function drawPlane(state) {
  if (!state) return;
  gwDemo.plane = state;
  const canvas = $("plane-canvas");
  const ctx = canvas.getContext("2d");
  const colors = state.class_colors;
  // The winning class of each grid cell, computed by the server, lightened.
  const grid = document.createElement("canvas");
  grid.width = grid.height = state.grid;
  const gctx = grid.getContext("2d");
  const image = gctx.createImageData(state.grid, state.grid);
  const winners = atob(state.winners);
  for (let i = 0; i < winners.length; i++) {
    const hex = colors[winners.charCodeAt(i)];
    for (let j = 0; j < 3; j++) {
      const channel = parseInt(hex.slice(1 + 2 * j, 3 + 2 * j), 16);
      image.data[4 * i + j] = Math.round(255 - 0.28 * (255 - channel));
    }
    image.data[4 * i + 3] = 255;
  }
  gctx.putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(grid, 0, 0, canvas.width, canvas.height);
  // Axes.
  ctx.strokeStyle = "rgba(0,0,0,0.25)";
  ctx.lineWidth = 1;
  const [ox, oy] = toCanvas(canvas, 0, 0);
  ctx.beginPath();
  ctx.moveTo(0, oy); ctx.lineTo(canvas.width, oy);
  ctx.moveTo(ox, 0); ctx.lineTo(ox, canvas.height);
  ctx.stroke();
  // Each class's zero-score line, its shift handle and its rotation handle.
  state.W.forEach(([wx, wy], c) => {
    const norm = Math.hypot(wx, wy);
    if (norm === 0) return;
    const { anchor, tip } = lineHandles(state, c);
    const d = [-wy / norm, wx / norm];
    const far = 4 * state.extent;
    ctx.strokeStyle = colors[c];
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(...toCanvas(canvas, anchor[0] - far * d[0], anchor[1] - far * d[1]));
    ctx.lineTo(...toCanvas(canvas, anchor[0] + far * d[0], anchor[1] + far * d[1]));
    ctx.stroke();
    ctx.beginPath();
    ctx.moveTo(...toCanvas(canvas, ...anchor));
    ctx.lineTo(...toCanvas(canvas, ...tip));
    ctx.stroke();
    ctx.fillStyle = colors[c];
    ctx.beginPath();
    ctx.arc(...toCanvas(canvas, ...tip), 5, 0, 2 * Math.PI);
    ctx.fill();
    ctx.fillStyle = "#fff";
    ctx.beginPath();
    ctx.arc(...toCanvas(canvas, ...anchor), 6, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
  });
  // The points, outlined thick where their loss is not zero.
  state.points.forEach(([x, y], i) => {
    ctx.fillStyle = colors[state.labels[i]];
    ctx.strokeStyle = "#000";
    ctx.lineWidth = state.point_losses[i] > 1e-12 ? 2 : 0.7;
    ctx.beginPath();
    ctx.arc(...toCanvas(canvas, x, y), 5, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
  });
  setNumber("plane-data", state.data_loss);
  setNumber("plane-reg-loss", state.reg_loss);
  setNumber("plane-total", state.total_loss);
  setText("plane-steps", String(plane.steps));
  $("plane-loss").value = state.loss;
  if (document.activeElement !== $("plane-reg")) $("plane-reg").value = state.reg;
  if (document.activeElement !== $("plane-lr")) $("plane-lr").value = state.lr;
  $("plane-classes").value = String(state.W.length);
  const label = $("plane-label");
  if (label.options.length !== state.W.length) {
    const chosen = label.value;
    label.replaceChildren();
    colors.forEach((_, c) => option(label, c, `class ${c}`));
    if (chosen && Number(chosen) < state.W.length) label.value = chosen;
  }
  const params = $("plane-params");
  params.replaceChildren();
  row(params, ["class", "W[c, 0]", "W[c, 1]", "b[c]"], true);
  state.W.forEach(([w0, w1], c) => {
    const name = document.createElement("span");
    name.append(swatch(colors[c]), `class ${c}`);
    row(params, [name, fmt(w0, 3), fmt(w1, 3), fmt(state.b[c], 3)]);
  });
  const points = $("plane-points");
  points.replaceChildren();
  row(points, ["x", "y", "class", ...state.W.map((_, c) => `s${c}`), "loss"], true);
  state.points.forEach(([x, y], i) => {
    const tr = row(points, [fmt(x, 2), fmt(y, 2), String(state.labels[i]),
                            ...state.scores[i].map((s) => fmt(s, 2)), fmt(state.point_losses[i], 3)]);
    tr.firstChild.style.borderLeft = `4px solid ${colors[state.labels[i]]}`;
  });
}

// -- view 2: optimizers on a surface ------------------------------------------------------

const race = { playing: false, paths: {}, image: new Image(), frames: [], probe: null };

function setUpRace(hello) {
  for (const name of hello.surfaces) option($("race-surface"), name);
  const table = $("race-optimizers");
  row(table, ["", "optimizer", "lr", "options"], true);
  for (const name of hello.optimizers) {
    const tick = document.createElement("input");
    tick.type = "checkbox";
    tick.id = `race-use-${name}`;
    tick.checked = hello.race_defaults.includes(name);
    const lr = document.createElement("input");
    lr.type = "number";
    lr.step = "any";
    lr.id = `race-lr-${name}`;
    lr.placeholder = "default";
    const opts = document.createElement("input");
    opts.type = "text";
    opts.id = `race-options-${name}`;
    const label = document.createElement("span");
    label.id = `race-name-${name}`;
    label.textContent = name;
    row(table, [tick, label, lr, opts]);
  }
  $("race-surface").addEventListener("change", () => raceSetup());
  $("race-apply").addEventListener("click", () => raceSetup());
  $("race-play").addEventListener("click", () => (race.playing ? stopRace() : playRace()));
  $("race-step").addEventListener("click", () => raceStep());
  $("race-reset").addEventListener("click", () => act({ type: "race.reset" }).then(drawRaceSetup));
  const canvas = $("race-canvas");
  canvas.addEventListener("click", (event) => {
    const p = toSurface(canvas, ...eventPoint(canvas, event));
    act({ type: "race.reset", start: p }).then(drawRaceSetup);
  });
  race.sendProbe = latestOnly((m) => request(m).then((r) => {
    setText("race-value", `f(${fmt(r.point[0], 3)}, ${fmt(r.point[1], 3)}) = ${fmt(r.value, 5)}`);
    $("race-value").dataset.value = String(r.value);
  }).catch(() => null));
  canvas.addEventListener("pointermove", (event) => {
    race.sendProbe({ type: "race.value", point: toSurface(canvas, ...eventPoint(canvas, event)) });
  });
  race.image.addEventListener("load", () => drawRace());
  request({ type: "race.get" }).then(drawRaceSetup);
}

// "momentum=0.9, nesterov=true" -> {momentum: 0.9, nesterov: true}; the server checks them.
function parseOptions(text) {
  const options = {};
  for (const part of text.split(",")) {
    if (!part.trim()) continue;
    const [key, value] = part.split("=").map((s) => s.trim());
    options[key] = value === "true" ? true : value === "false" ? false : Number(value);
  }
  return options;
}

function raceSetup() {
  stopRace();
  const optimizers = gwDemo.hello.optimizers
    .filter((name) => $(`race-use-${name}`).checked)
    .map((name) => ({ name, lr: numberOrNull($(`race-lr-${name}`)),
                      options: parseOptions($(`race-options-${name}`).value) }));
  return act({ type: "race.setup", surface: $("race-surface").value, optimizers }).then(drawRaceSetup);
}

function drawRaceSetup(state) {
  if (!state) return;
  gwDemo.race = state;
  race.paths = {};
  for (const r of state.racers) {
    race.paths[r.name] = { positions: [state.start], values: [state.start_value], stopped: null };
  }
  $("race-surface").value = state.surface;
  setText("race-steps", String(state.steps));
  race.image.src = state.background;
  if (race.image.complete) drawRace();
}

function raceStep() {
  const steps = Math.max(1, Math.min(50, Number($("race-speed").value) || 1));
  return request({ type: "race.step", steps }).then((moved) => {
    for (const [name, path] of Object.entries(moved.paths)) {
      const mine = race.paths[name];
      if (!mine) continue;
      mine.positions.push(...path.positions);
      mine.values.push(...path.values);
      mine.stopped = path.stopped;
    }
    setText("race-steps", String(moved.steps));
    drawRace();
    race.frames.push(performance.now());
    while (race.frames.length && race.frames[0] < performance.now() - 1000) race.frames.shift();
    setText("race-fps", String(race.frames.length));
    return moved;
  }).catch((err) => {
    showError(err.message);
    return null;
  });
}

function playRace() {
  race.playing = true;
  race.frames = [];
  setText("race-play", "pause");
  const loop = () => {
    if (!race.playing) return;
    raceStep().then((moved) => (moved ? requestAnimationFrame(loop) : stopRace()));
  };
  loop();
}

function stopRace() {
  race.playing = false;
  setText("race-play", "play");
}

function toSurface(canvas, px, py) {
  const [[x0, x1], [y0, y1]] = gwDemo.race.window;
  return [x0 + (px / canvas.width) * (x1 - x0), y1 - (py / canvas.height) * (y1 - y0)];
}

function fromSurface(canvas, x, y) {
  const [[x0, x1], [y0, y1]] = gwDemo.race.window;
  return [(x - x0) / (x1 - x0) * canvas.width, (y1 - y) / (y1 - y0) * canvas.height];
}

function drawRace() {
  const state = gwDemo.race;
  if (!state) return;
  const canvas = $("race-canvas");
  const ctx = canvas.getContext("2d");
  ctx.drawImage(race.image, 0, 0, canvas.width, canvas.height);
  ctx.lineWidth = 1.5;
  for (const [mx, my] of state.minima) {
    star(ctx, ...fromSurface(canvas, mx, my));
  }
  const legend = [];
  state.racers.forEach((r, i) => {
    const path = race.paths[r.name];
    ctx.strokeStyle = r.color;
    ctx.lineWidth = 3.2 - (1.8 * i) / Math.max(1, state.racers.length - 1);
    ctx.beginPath();
    path.positions.forEach(([x, y], k) => {
      const [cx, cy] = fromSurface(canvas, x, y);
      if (k === 0) ctx.moveTo(cx, cy);
      else ctx.lineTo(cx, cy);
    });
    ctx.stroke();
    const [hx, hy] = fromSurface(canvas, ...path.positions[path.positions.length - 1]);
    ctx.fillStyle = r.color;
    ctx.beginPath();
    ctx.arc(hx, hy, 5, 0, 2 * Math.PI);
    ctx.fill();
    legend.push([r, path]);
  });
  ctx.fillStyle = "#fff";
  ctx.strokeStyle = "#000";
  ctx.beginPath();
  ctx.arc(...fromSurface(canvas, ...state.start), 5, 0, 2 * Math.PI);
  ctx.fill();
  ctx.stroke();
  // The legend: name, learning rate, the value where it is now (or why it stopped).
  ctx.font = "12px system-ui, sans-serif";
  legend.forEach(([r, path], i) => {
    const y = 18 + 17 * i;
    ctx.fillStyle = "rgba(255,255,255,0.85)";
    ctx.fillRect(6, y - 12, 250, 16);
    ctx.fillStyle = r.color;
    ctx.fillRect(10, y - 9, 12, 10);
    ctx.fillStyle = "#000";
    const value = path.values[path.values.length - 1];
    const lr = r.lr === null ? "" : ` lr=${r.lr}`;
    ctx.fillText(`${r.name}${lr}  f=${path.stopped ? path.stopped : fmt(value, 4)}`, 26, y);
  });
  for (const r of state.racers) {
    const name = $(`race-name-${r.name}`);
    if (name) name.style.color = r.color;
  }
}

function star(ctx, x, y) {
  ctx.fillStyle = "#fff";
  ctx.strokeStyle = "#000";
  ctx.beginPath();
  for (let k = 0; k < 10; k++) {
    const radius = k % 2 ? 4 : 9;
    const angle = -Math.PI / 2 + (k * Math.PI) / 5;
    ctx.lineTo(x + radius * Math.cos(angle), y + radius * Math.sin(angle));
  }
  ctx.closePath();
  ctx.fill();
  ctx.stroke();
}

// -- view 3: training on images -----------------------------------------------------------

function setUpTrain(hello) {
  if (!hello.training) {
    setText("train-dataset", "this server was started without a dataset to train on");
    $("train-start").disabled = true;
    return;
  }
  for (const name of hello.training.losses) option($("train-loss"), name);
  for (const name of hello.training.optimizers) option($("train-optimizer"), name);
  $("train-optimizer").value = "momentum";
  $("train-schedule").title = hello.training.schedule_help;
  $("train-epochs").value = hello.training.epochs;
  $("train-start").addEventListener("click", () => {
    act({
      type: "train.start",
      loss: $("train-loss").value,
      optimizer: $("train-optimizer").value,
      lr: numberOrNull($("train-lr")),
      schedule: $("train-schedule").value.trim() || "none",
      reg: Number($("train-reg").value),
      epochs: Number($("train-epochs").value),
      batch_size: Number($("train-batch").value),
    });
  });
  $("train-stop").addEventListener("click", () => act({ type: "train.stop" }));
  $("train-explain").addEventListener("click", () => explain(Number($("train-index").value)));
  $("train-random").addEventListener("click", () => {
    const index = Math.floor(Math.random() * gwDemo.train.info.n_test);
    $("train-index").value = index;
    explain(index);
  });
  request({ type: "train.info" }).then((info) => {
    gwDemo.train.info = info;
    $("train-index").max = info.n_test - 1;
    setText("train-dataset", `${info.dataset}: ${info.n_train} training and ${info.n_test} ` +
      `test images of ${info.image_shape.join("x")}, ${info.classes.length} classes`);
    const names = $("train-template-names");
    names.replaceChildren();
    for (const c of info.classes) {
      const span = document.createElement("span");
      span.textContent = c;
      names.appendChild(span);
    }
  });
  drawCurves();
}

function trainStarted(m) {
  gwDemo.train.steps = [];
  gwDemo.train.epochs = [];
  gwDemo.train.stepsPerEpoch = m.steps_per_epoch;
  gwDemo.train.running = true;
  setText("train-status", `training: ${m.loss} loss, ${m.optimizer}, ${m.epochs} epochs`);
  drawCurves();
}

function trainStep(m) {
  gwDemo.train.steps.push([m.step, m.loss]);
  drawCurves();
}

function trainEpoch(m) {
  const record = m.record;
  gwDemo.train.epochs.push({ ...record, step: m.step });
  setText("train-epoch", `after epoch ${record.epoch}`);
  const img = $("train-templates");
  img.src = m.templates;
  img.hidden = false;
  img.onload = () => {
    const names = $("train-template-names");
    const scale = img.height / img.naturalHeight;
    names.style.width = `${img.naturalWidth * scale}px`;
    for (const span of names.children) span.style.width = `${(m.template_width + 1) * scale}px`;
  };
  const table = $("train-record");
  table.replaceChildren();
  row(table, ["epoch", String(record.epoch)]);
  row(table, ["training loss", fmt(record.train_loss)]);
  row(table, ["training accuracy", fmt(record.train_acc)]);
  row(table, ["test loss", fmt(record.val_loss)]);
  row(table, ["test accuracy", fmt(record.val_acc)]);
  row(table, ["seconds", fmt(record.seconds, 2)]);
  drawCurves();
}

function trainDone(m) {
  gwDemo.train.running = false;
  gwDemo.train.done = m;
  setText("train-status", `finished: ${m.stop_reason}${m.message ? " (" + m.message + ")" : ""}`);
}

function explain(index) {
  act({ type: "train.explain", index }).then((e) => {
    if (!e) return;
    gwDemo.train.explained = e;
    const img = $("train-image");
    img.src = e.image;
    img.hidden = false;
    const classes = gwDemo.train.info.classes;
    const table = $("train-explain-table");
    table.replaceChildren();
    row(table, ["class", "score s", "softmax p", "max(0, s_j - s_y + 1)"], true);
    classes.forEach((c, k) => {
      const name = k === e.predicted ? `${c} (predicted)` : c;
      const tr = row(table, [name, fmt(e.scores[k]), fmt(e.probabilities[k]), fmt(e.margins[k])]);
      if (k === e.label) tr.className = "label";
    });
    const losses = $("train-explain-losses");
    losses.replaceChildren();
    row(losses, [`label: ${classes[e.label]}`, "L_i"], true);
    for (const [name, value] of Object.entries(e.losses)) row(losses, [name, fmt(value)]);
  });
}

function drawCurves() {
  const t = gwDemo.train;
  const perEpoch = t.stepsPerEpoch || 1;
  const lossSeries = [
    { name: "minibatch loss", color: "#bbbbbb", points: t.steps.map(([s, l]) => [s / perEpoch, l]) },
    { name: "training loss", color: "#0072B2", points: t.epochs.map((r) => [r.epoch, r.train_loss]) },
    { name: "test loss", color: "#D55E00", points: t.epochs.map((r) => [r.epoch, r.val_loss]) },
  ];
  plot($("train-loss-canvas"), "loss", lossSeries);
  plot($("train-acc-canvas"), "accuracy", [
    { name: "training accuracy", color: "#0072B2", points: t.epochs.map((r) => [r.epoch, r.train_acc]) },
    { name: "test accuracy", color: "#D55E00", points: t.epochs.map((r) => [r.epoch, r.val_acc]) },
  ]);
}

function plot(canvas, title, series) {
  const ctx = canvas.getContext("2d");
  const pad = { left: 46, right: 10, top: 22, bottom: 26 };
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const all = series.flatMap((s) => s.points).filter(([, v]) => v !== null && Number.isFinite(v));
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const xMax = Math.max(1, ...xs);
  let yMin = Math.min(...ys, Infinity);
  let yMax = Math.max(...ys, -Infinity);
  if (!all.length) { yMin = 0; yMax = 1; }
  if (yMax - yMin < 1e-9) { yMax += 0.5; yMin -= 0.5; }
  const w = canvas.width - pad.left - pad.right;
  const h = canvas.height - pad.top - pad.bottom;
  const X = (x) => pad.left + (x / xMax) * w;
  const Y = (y) => pad.top + (1 - (y - yMin) / (yMax - yMin)) * h;
  ctx.strokeStyle = "#999";
  ctx.lineWidth = 1;
  ctx.strokeRect(pad.left, pad.top, w, h);
  ctx.fillStyle = "#333";
  ctx.font = "12px system-ui, sans-serif";
  ctx.fillText(title, pad.left, 14);
  ctx.font = "10px system-ui, sans-serif";
  for (let k = 0; k <= 4; k++) {
    const v = yMin + (k / 4) * (yMax - yMin);
    ctx.fillText(v.toFixed(3), 4, Y(v) + 3);
  }
  ctx.fillText("epoch", pad.left + w - 28, canvas.height - 6);
  for (let e = 0; e <= xMax; e += Math.max(1, Math.ceil(xMax / 10))) ctx.fillText(String(e), X(e) - 3, pad.top + h + 12);
  series.forEach((s, i) => {
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    s.points.forEach(([x, y], k) => (k ? ctx.lineTo(X(x), Y(y)) : ctx.moveTo(X(x), Y(y))));
    ctx.stroke();
    for (const [x, y] of s.points) if (s.points.length < 60) ctx.fillRect(X(x) - 2, Y(y) - 2, 4, 4);
    ctx.fillText(s.name, pad.left + 8 + 110 * i, pad.top + 12);
  });
}

connect();
