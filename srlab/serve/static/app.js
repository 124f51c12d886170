// srlab serve: the page. Plain JavaScript, no build step; talks to the server's /api routes.
"use strict";

const $ = (id) => document.getElementById(id);
const POLL_MS = 200;
const SLIDER_DEBOUNCE_MS = 120;

const state = {
  models: [],
  limits: null,
  images: [],        // {key, name, upload, job, error, li}
  selected: null,    // an entry of images
  zoom: "fit",
  uploading: Promise.resolve(),
  shown: null,       // job id whose result is on screen
};

// ---------------------------------------------------------------- start-up

async function init() {
  const [models, limits] = await Promise.all([getJSON("/api/models"), getJSON("/api/limits")]);
  state.models = models;
  state.limits = limits;
  for (const m of models) {
    const option = new Option(m.name + (m.default ? " (default)" : ""), m.name);
    option.title = m.when;
    $("model").add(option);
  }
  $("noise").max = String(limits.w_steps.length - 1);
  $("limits-note").textContent =
    `PNG, JPEG, WebP, TIFF or BMP; up to ${mib(limits.max_upload_bytes)} and ` +
    `${megapixels(limits.max_pixels)} per photo, results up to ${megapixels(limits.max_output_pixels)}.`;
  modelChanged(false);
  wireControls();
  setInterval(poll, POLL_MS);
}

function wireControls() {
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    addFiles(e.dataTransfer.files);
  });
  $("file-input").addEventListener("change", (e) => { addFiles(e.target.files); e.target.value = ""; });
  $("model").addEventListener("change", () => modelChanged(true));
  $("scale").addEventListener("change", () => settingsChanged());
  $("seed").addEventListener("change", () => settingsChanged());
  $("ensemble").addEventListener("change", () => settingsChanged());
  let timer = null;
  $("noise").addEventListener("input", () => {
    showNoise();
    clearTimeout(timer);
    timer = setTimeout(settingsChanged, SLIDER_DEBOUNCE_MS);
  });
  $("zoom-fit").addEventListener("click", () => setZoom("fit"));
  $("zoom-1").addEventListener("click", () => setZoom("1:1"));
  $("split").addEventListener("input", () => setSplit(Number($("split").value)));
  const stage = $("stage");
  stage.addEventListener("pointerdown", (e) => { stage.setPointerCapture(e.pointerId); dragSplit(e); });
  stage.addEventListener("pointermove", (e) => { if (e.buttons) dragSplit(e); });
  window.addEventListener("resize", layoutStage);
}

// ---------------------------------------------------------------- settings

function currentModel() {
  return state.models.find((m) => m.name === $("model").value);
}

function modelChanged(run) {
  const model = currentModel();
  $("model-when").textContent = model.when;
  const previous = Number($("scale").value) || model.default_scale;
  $("scale").replaceChildren(...model.scales.map((s) => new Option(`x${s}`, String(s))));
  $("scale").value = String(model.scales.includes(previous) ? previous : model.default_scale);
  $("noise-box").hidden = !model.takes_noise;
  $("ensemble-box").hidden = model.takes_noise;
  showNoise();
  if (run) settingsChanged();
}

function noiseValue() {
  return state.limits.w_steps[Number($("noise").value)];
}

function showNoise() {
  $("noise-value").textContent = String(noiseValue());
}

function settings() {
  const model = currentModel();
  const body = { model: model.name, scale: Number($("scale").value) };
  if (model.takes_noise) {
    body.noise = noiseValue();
    body.seed = Math.max(0, Math.floor(Number($("seed").value) || 0));
  } else {
    body.ensemble = $("ensemble").checked;
  }
  return body;
}

function settingsChanged() {
  if (state.selected && state.selected.upload) requestJob(state.selected);
}

// ---------------------------------------------------------------- uploads

function addFiles(files) {
  for (const file of files) {
    const entry = { key: Math.random().toString(36).slice(2), name: file.name, upload: null,
      job: null, error: null, li: document.createElement("li") };
    entry.li.addEventListener("click", () => select(entry));
    state.images.push(entry);
    $("images").append(entry.li);
    if (file.size > state.limits.max_upload_bytes) {
      fail(entry, `${file.name} is ${mib(file.size)}; this server accepts at most ` +
        `${mib(state.limits.max_upload_bytes)} per photo`);
      continue;
    }
    renderEntry(entry, "waiting to upload");
    // one upload at a time: the server refuses more than a few at once
    state.uploading = state.uploading.then(() => upload(entry, file));
  }
}

async function upload(entry, file) {
  renderEntry(entry, "uploading");
  const form = new FormData();
  form.append("file", file, file.name);
  const answer = await send("/api/images", { method: "POST", body: form });
  if (answer.error) { fail(entry, answer.error); return; }
  entry.upload = answer;
  renderEntry(entry, `${answer.width}\u00d7${answer.height}`);
  if (!state.selected) select(entry);
  else requestJob(entry);
}

function fail(entry, message) {
  entry.error = message;
  entry.li.className = "failed";
  entry.li.replaceChildren(text(entry.name), small("refused"));
  entry.li.title = message;
  showMessage(message);
}

function renderEntry(entry, note) {
  entry.li.replaceChildren(text(entry.name), small(note));
  entry.li.classList.toggle("selected", entry === state.selected);
}

function select(entry) {
  if (entry.error) { showMessage(entry.error); return; }
  state.selected = entry;
  for (const other of state.images) other.li.classList.toggle("selected", other === entry);
  showMessage(null);
  if (!entry.upload) return;
  $("before").src = `/api/images/${entry.upload.id}/preview.png`;
  state.shown = null;
  $("after").removeAttribute("src");
  delete $("after").dataset.job;
  setDownload(null);
  layoutStage();
  const job = entry.job;
  const wanted = JSON.stringify(settings());
  if (!job || job.state === "cancelled" || job.state === "failed" || entry.settings !== wanted) {
    requestJob(entry);
  } else {
    renderJob(entry);
  }
}

// ---------------------------------------------------------------- jobs

async function requestJob(entry) {
  const body = settings();
  entry.settings = JSON.stringify(body);
  body.image = entry.upload.id;
  const answer = await send("/api/jobs", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (entry.settings !== JSON.stringify(settingsOf(body))) return; // a newer request was sent
  if (answer.error) {
    entry.job = null;
    renderEntry(entry, "not started: click to retry");
    if (entry === state.selected) { showMessage(answer.error); setStatus("", 0); }
    return;
  }
  if (entry === state.selected) showMessage(null);
  entry.job = answer;
  renderJob(entry);
}

function settingsOf(body) {
  const copy = { ...body };
  delete copy.image;
  return copy;
}

let polling = false;

async function poll() {
  if (polling) return; // the previous round is still waiting for the server
  polling = true;
  try { await pollOnce(); } finally { polling = false; }
}

async function pollOnce() {
  const open = state.images.filter((e) => e.job && !finished(e.job));
  for (const entry of open) {
    const asked = entry.job.id;
    const answer = await send(`/api/jobs/${asked}`);
    if (!entry.job || entry.job.id !== asked) continue; // a newer job replaced it meanwhile
    // a server that restarted or stopped knows the job no more: stop polling it
    entry.job = answer.error ? { ...entry.job, state: "failed", error: answer.error } : answer;
    renderJob(entry);
  }
  if (open.length || $("queue").dataset.busy === "1") renderQueue(await send("/api/queue"));
}

function finished(job) {
  return job.state === "done" || job.state === "failed" || job.state === "cancelled";
}

function renderJob(entry) {
  const job = entry.job;
  const label = { queued: "queued", running: "running", done: "done", failed: "failed",
    cancelled: "cancelled" }[job.state];
  renderEntry(entry, label);
  if (entry !== state.selected) return;
  if (job.state === "queued") {
    const ahead = job.position ? `, ${job.position} ahead` : "";
    setStatus(`Waiting for ${job.model}${ahead}\u2026`, 0);
  } else if (job.state === "running") {
    const tiles = job.tiles_total ? ` tile ${job.tiles_done} of ${job.tiles_total}` : "";
    setStatus(`Upscaling with ${job.model}\u2026${tiles}`,
      job.tiles_total ? job.tiles_done / job.tiles_total : 0);
  } else if (job.state === "failed") {
    setStatus("Failed.", 0);
    showMessage(job.error);
  } else if (job.state === "cancelled") {
    setStatus("", 0);
  } else if (state.shown !== job.id) {
    showResult(entry, job);
  }
}

function showResult(entry, job) {
  state.shown = job.id;
  const after = $("after");
  after.onload = () => {
    after.dataset.job = job.id;
    after.dataset.noise = String(job.noise);
    setStatus(`Done: ${job.width}\u00d7${job.height}.`, 1);
    layoutStage();
  };
  after.onerror = () => { state.shown = null; requestJob(entry); }; // left the cache: run again
  after.src = `/api/jobs/${job.id}/preview.png`;
  let info = `${job.model}, x${job.scale}`;
  if (currentModelByName(job.model).takes_noise) info += `, W = ${job.noise}, seed ${job.seed}`;
  if (job.ensemble) info += ", ensemble";
  $("result-info").textContent = `${entry.name}: ${info}, ${job.width}\u00d7${job.height}`;
  setDownload(job);
}

function currentModelByName(name) {
  return state.models.find((m) => m.name === name) || {};
}

function setDownload(job) {
  const link = $("download");
  link.classList.toggle("disabled", !job);
  link.href = job ? `/api/jobs/${job.id}/download` : "#";
}

function renderQueue(rows) {
  const list = $("queue");
  list.dataset.busy = rows.length ? "1" : "0";
  if (!Array.isArray(rows) || !rows.length) {
    list.replaceChildren(hintItem("empty"));
    return;
  }
  const items = [];
  for (const row of rows) {
    if (row.running) {
      const r = row.running;
      const tiles = r.tiles_total ? ` (${r.tiles_done}/${r.tiles_total} tiles)` : "";
      const what = r.background ? `precomputing W = ${r.noise} for` : "running";
      items.push(item(`${row.model}: ${what} ${r.name}${tiles}`));
    }
    for (const w of row.waiting) items.push(item(`${row.model}: waiting ${w.name} (x${w.scale})`));
    if (row.precompute_waiting) {
      items.push(hintItem(`${row.model}: ${row.precompute_waiting} W steps to precompute`));
    }
  }
  list.replaceChildren(...items);
}

// ---------------------------------------------------------------- comparison view

function setZoom(zoom) {
  state.zoom = zoom;
  $("zoom-fit").classList.toggle("active", zoom === "fit");
  $("zoom-1").classList.toggle("active", zoom === "1:1");
  layoutStage();
}

function layoutStage() {
  const entry = state.selected;
  const stage = $("stage");
  if (!entry || !entry.upload) { stage.hidden = true; return; }
  const scale = entry.job && entry.job.state === "done" ? entry.job.scale : Number($("scale").value);
  const width = entry.upload.width * scale;
  const height = entry.upload.height * scale;
  let factor = 1; // 1:1, one screen pixel per result pixel
  if (state.zoom === "fit") { // the whole picture in the view, enlarged or reduced
    const room = $("viewport").clientWidth - 2;
    const tall = Math.max(200, window.innerHeight - 180);
    factor = Math.min(room / width, tall / height);
  }
  stage.hidden = false;
  stage.style.width = `${Math.round(width * factor)}px`;
  stage.style.height = `${Math.round(height * factor)}px`;
  setSplit(Number($("split").value));
}

function setSplit(percent) {
  $("split").value = String(percent);
  $("before").style.clipPath = `inset(0 ${100 - percent}% 0 0)`;
  $("divider").style.left = `${percent}%`;
}

function dragSplit(event) {
  const box = $("stage").getBoundingClientRect();
  const percent = Math.round(((event.clientX - box.left) / box.width) * 100);
  setSplit(Math.min(100, Math.max(0, percent)));
}

// ---------------------------------------------------------------- helpers

async function getJSON(url) {
  const answer = await send(url);
  if (answer.error) throw new Error(answer.error);
  return answer;
}

// fetch that always resolves to JSON: the server's {error} or one made from the failure
async function send(url, options) {
  try {
    const response = await fetch(url, options);
    const body = await response.json().catch(() => ({}));
    if (!response.ok) return { error: body.error || `${response.status} ${response.statusText}` };
    return body;
  } catch (err) {
    return { error: `the server did not answer (${err.message}); is srlab serve still running?` };
  }
}

function setStatus(message, fraction) {
  $("status").textContent = message;
  $("progress").value = fraction;
}

function showMessage(message) {
  $("message").hidden = !message;
  $("message").textContent = message || "";
}

function text(value) {
  const span = document.createElement("span");
  span.textContent = value;
  return span;
}

function small(value) {
  const element = document.createElement("small");
  element.textContent = value;
  return element;
}

function item(value) {
  const li = document.createElement("li");
  li.textContent = value;
  return li;
}

function hintItem(value) {
  const li = item(value);
  li.className = "hint";
  return li;
}

function mib(bytes) { // as the server words sizes
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

function megapixels(pixels) {
  return `${(pixels / 1e6).toFixed(pixels < 1e7 ? 1 : 0)} megapixels`;
}

init().catch((err) => showMessage(`cannot start the page: ${err.message}`));
