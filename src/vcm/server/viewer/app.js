// The vcm fleet viewer: cameras, a timeline of segments, a player with the edge's detection
// boxes drawn over the video, and search by class. Plain ES module, no dependencies.

const TOKEN_KEY = "vcm.readerToken";
const REFRESH_MS = 15000;
const WINDOW_HOURS = [1, 6, 24]; // the timeline's zoom: hours shown at a time (a day at 3.2 s a segment is 27,000)
const DEFAULT_WINDOW_HOURS = 6;
const EDGE = "edge"; // the detections the camera sent (re-analyses stored beside them have their own names)
const CACHE_SIZE = 6;
const COCO = ("person bicycle car motorcycle airplane bus train truck boat traffic_light fire_hydrant " +
  "stop_sign parking_meter bench bird cat dog horse sheep cow elephant bear zebra giraffe backpack " +
  "umbrella handbag tie suitcase frisbee skis snowboard sports_ball kite baseball_bat baseball_glove " +
  "skateboard surfboard tennis_racket bottle wine_glass cup fork knife spoon bowl banana apple sandwich " +
  "orange broccoli carrot hot_dog pizza donut cake chair couch potted_plant bed dining_table toilet tv " +
  "laptop mouse remote keyboard cell_phone microwave oven toaster sink refrigerator book clock vase " +
  "scissors teddy_bear hair_drier toothbrush").split(" ").map((name) => name.replace(/_/g, " "));
const CLASS_COLOURS = { person: "#4ade80", car: "#38bdf8", truck: "#fb923c", bus: "#facc15",
  bicycle: "#f472b6", motorcycle: "#c084fc" };

const $ = (id) => document.getElementById(id);
const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  cameras: [], camera: null, segments: [], seq: null, kind: "machine",
  source: EDGE, // whose boxes are drawn: the camera's, or a stored re-analysis
  windowEnd: null, follow: true, // the timeline's window [windowEnd - windowS, windowEnd]; follow: the newest
  windowS: DEFAULT_WINDOW_HOURS * 3600, listings: 0, // listings: segment listings asked for so far
  detections: [], byFrame: new Map(), stride: 1, hidden: new Set(),
  load: null, videos: new Map(), seekTo: null, timer: null, bannerFromRefresh: false,
};

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// ---- the API ------------------------------------------------------------------------------

async function api(path, { as = "json", signal } = {}) {
  let response;
  try {
    response = await fetch(path, { headers: { Authorization: `Bearer ${state.token}` }, signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, `Cannot reach the server (${error.message}).`);
  }
  if (!response.ok) {
    let reason = response.statusText || "request failed";
    try {
      reason = (await response.json()).error || reason;
    } catch { /* not JSON */ }
    throw new ApiError(response.status, `${reason} (HTTP ${response.status})`);
  }
  return as === "blob" ? response.blob() : response.json();
}

const camPath = (camera) => `/api/cameras/${encodeURIComponent(camera)}`;

/** Route an error: a refused token back to the sign-in form, anything else to the banner. */
function fail(error, { fromRefresh = false } = {}) {
  if (error.name === "AbortError") return;
  if (error.status === 401) {
    signOut(`The server did not accept this token: ${error.message}. Enter a reader token.`);
  } else if (error.status === 403) {
    signOut(`${error.message}. The viewer needs a reader token, not a camera token.`);
  } else {
    showBanner(error.message, fromRefresh);
  }
}

function showBanner(message, fromRefresh = false) {
  const banner = $("banner");
  banner.replaceChildren(el("span", {}, message), el("button", {
    type: "button", class: "ghost", "aria-label": "Dismiss", onclick: () => { banner.hidden = true; },
  }, "×"));
  banner.hidden = false;
  state.bannerFromRefresh = fromRefresh;
}

// ---- formatting ---------------------------------------------------------------------------

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  for (; n >= 1024 && i < units.length - 1; i++) n /= 1024;
  return i === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ${units[i]}`;
}

const pad = (n) => String(n).padStart(2, "0");
const day = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const clock = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
const stamp = (t) => { const d = new Date(t * 1000); return `${day(d)} ${clock(d)}`; };

/** A time of day, with its date unless it is today. */
function when(t) {
  const d = new Date(t * 1000);
  return day(d) === day(new Date()) ? clock(d) : stamp(t);
}

// A camera whose newest footage ended within ONLINE_S is shown as online, else when it was last seen.
const ONLINE_S = 120;

function seen(last) {
  const age = Math.max(0, Date.now() / 1000 - last);
  return age <= ONLINE_S ? "● online" : `last seen ${duration(age)} ago`;
}

/** A time range; `short` drops today's date. */
function span(t0, t1, short = false) {
  if (short && day(new Date(t0 * 1000)) === day(new Date())) return `${when(t0)} – ${when(t1)}`;
  const a = new Date(t0 * 1000), b = new Date(t1 * 1000);
  return day(a) === day(b) ? `${stamp(t0)} – ${clock(b)}` : `${stamp(t0)} – ${stamp(t1)}`;
}

function duration(s) {
  const [value, unit] = s < 60 ? [s, "s"] : s < 3600 ? [s / 60, "min"] : s < 86400 ? [s / 3600, "h"] : [s / 86400, "d"];
  return `${value.toFixed(value < 10 ? 1 : 0)} ${unit}`;
}

const count = (n, word) => `${n.toLocaleString("en")} ${word}${n === 1 ? "" : "s"}`;

function classColour(name) {
  if (CLASS_COLOURS[name]) return CLASS_COLOURS[name];
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) % 360;
  return `hsl(${h} 85% 62%)`;
}

/** A DOM element; attributes starting with "on" become listeners. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "style") for (const [name, v] of Object.entries(value)) node.style.setProperty(name, v);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return node;
}

// ---- signing in and out -------------------------------------------------------------------

function showSignIn(message) {
  $("app").hidden = true;
  $("search-form").hidden = $("session").hidden = true;
  $("banner").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message || "";
  $("signin-error").hidden = !message;
  $("token").value = "";
  $("token").focus();
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  clearInterval(state.timer);
  state.load?.abort();
  const video = $("video");
  video.pause();
  video.removeAttribute("src");
  video.load();
  for (const entry of state.videos.values()) entry.then((url) => URL.revokeObjectURL(url), () => {});
  Object.assign(state, { cameras: [], camera: null, segments: [], seq: null, videos: new Map() });
  history.replaceState(null, "", location.pathname);
  showSignIn(message);
}

async function start() {
  try {
    const cameras = await api("/api/cameras");
    $("signin").hidden = true;
    $("app").hidden = $("search-form").hidden = $("session").hidden = false;
    renderCameras(cameras);
    clearInterval(state.timer);
    state.timer = setInterval(refresh, REFRESH_MS);
    if (!(await followHash()) && cameras.length === 1) await openCamera(cameras[0].camera);
  } catch (error) {
    fail(error);
  }
}

/** Open what the address names (#camera or #camera/seq); false when it names nothing known. */
async function followHash() {
  const [camera, seq] = decodeURIComponent(location.hash.slice(1)).split("/");
  if (!camera) return false;
  if (!state.cameras.some((c) => c.camera === camera)) {
    showBanner(`There is no camera ${camera}.`);
    return false;
  }
  await openCamera(camera);
  if (seq !== undefined && seq !== "" && Number(seq) !== state.seq) await selectSegment(Number(seq));
  return true;
}

async function refresh() {
  try {
    const cameras = await api("/api/cameras");
    if (JSON.stringify(cameras) !== JSON.stringify(state.cameras)) {
      renderCameras(cameras);
      if (state.camera) await loadSegments();
    }
    if (state.bannerFromRefresh) $("banner").hidden = true;
  } catch (error) {
    fail(error, { fromRefresh: true });
  }
}

// ---- cameras --------------------------------------------------------------------------------

function renderCameras(cameras) {
  state.cameras = cameras;
  const list = $("cameras");
  const total = cameras.reduce((sum, c) => sum + c.hot_bytes + c.cold_bytes, 0);
  $("fleet-summary").textContent = cameras.length ? `${count(cameras.length, "camera")} · ${bytes(total)}` : "";
  if (!cameras.length) {
    list.replaceChildren(el("li", { class: "muted" }, "No camera has uploaded yet. Run vcm edge … --server."));
    return;
  }
  const chosen = $("search-camera").value;
  $("search-camera").replaceChildren(el("option", { value: "" }, "all cameras"),
    ...cameras.map((c) => el("option", { value: c.camera }, c.camera)));
  $("search-camera").value = cameras.some((c) => c.camera === chosen) ? chosen : "";
  list.replaceChildren(...cameras.map((c) => {
    const stored = c.hot_bytes + c.cold_bytes;
    const hotShare = stored ? (100 * c.hot_bytes) / stored : 0;
    return el("li", {},
      el("button", {
        type: "button", class: "camera", "data-testid": "camera-item", "data-camera": c.camera,
        "aria-pressed": String(c.camera === state.camera), onclick: () => openCamera(c.camera),
      },
      el("span", { class: "camera-name" }, c.camera,
        el("span", { class: "badge", title: "detections" }, count(c.detections, "detection"))),
      el("span", { class: "camera-stats", "data-testid": "camera-stats" },
        `${count(c.segments, "segment")} · ${count(c.frames, "frame")}`),
      el("span", { class: "tiers", "aria-hidden": "true" },
        el("i", { class: "hot", style: { width: `${hotShare}%` } }),
        el("i", { class: "cold", style: { width: `${100 - hotShare}%` } })),
      el("span", { class: "camera-bytes small" },
        el("span", { class: "hot-text" }, `hot ${bytes(c.hot_bytes)}`), " · ",
        el("span", { class: "cold-text" }, `cold ${bytes(c.cold_bytes)}`)),
      c.first !== null ? el("span", { class: "muted small", title: span(c.first, c.last) },
        `${span(c.first, c.last, true)} (${duration(Math.max(0, c.last - c.first))})`) : null,
      c.last !== null ? el("span", { class: "small", "data-testid": "camera-seen" }, seen(c.last)) : null));
  }));
}

async function openCamera(camera, { around = null } = {}) {
  if (state.camera !== camera || around !== null) {
    state.follow = around === null;
    state.windowEnd = around === null ? newest(camera) : around + state.windowS / 2;
  }
  if (state.camera !== camera) {
    state.camera = camera;
    state.seq = null;
    $("player-view").hidden = true;
    state.load?.abort();
    $("video").pause();
  }
  for (const button of document.querySelectorAll(".camera")) {
    button.setAttribute("aria-pressed", String(button.dataset.camera === camera));
  }
  $("empty").hidden = true;
  $("camera-view").hidden = false;
  $("camera-title").textContent = camera;
  updateHash();
  try {
    await loadSegments();
  } catch (error) {
    fail(error);
  }
}

/** The end of a camera's newest footage (now when it has none). */
function newest(camera) {
  const entry = state.cameras.find((c) => c.camera === camera);
  return entry?.last ?? Date.now() / 1000;
}

async function loadSegments() {
  const camera = state.camera;
  const asked = ++state.listings; // a later request (zoom, pick, move) makes this answer stale
  if (state.follow) state.windowEnd = newest(camera);
  const from = state.windowEnd - state.windowS;
  const segments = await api(`${camPath(camera)}/segments?from=${from}&to=${state.windowEnd + 1e-3}`);
  if (camera !== state.camera || asked !== state.listings) return;
  state.segments = segments;
  $("camera-range").textContent = `${count(segments.length, "segment")} · ${span(from, state.windowEnd)}`;
  $("window-later").disabled = state.follow;
  $("window-at").value = localInput(state.windowEnd - state.windowS / 2);
  renderTimeline();
}

/** Move the timeline's window by `steps` windows (negative: earlier); 0 jumps to the newest. */
async function moveWindow(steps) {
  state.follow = steps === 0 || state.windowEnd + steps * state.windowS >= newest(state.camera);
  state.windowEnd = state.follow ? newest(state.camera) : state.windowEnd + steps * state.windowS;
  await reloadWindow();
}

/** Centre the window on epoch second `t` (the date picker, to the minute); a window reaching
 * within that minute of the newest footage follows it. */
async function showAround(t) {
  if (!Number.isFinite(t)) return;
  state.follow = t + state.windowS / 2 + 60 >= newest(state.camera);
  state.windowEnd = state.follow ? newest(state.camera) : t + state.windowS / 2;
  await reloadWindow();
}

/** Zoom: show `hours` at a time, keeping the window's centre (or following the newest). */
async function zoom(hours) {
  const centre = state.windowEnd - state.windowS / 2;
  state.windowS = hours * 3600;
  if (!state.follow) state.windowEnd = centre + state.windowS / 2;
  for (const button of ["window-earlier", "window-later", "window-newest"]) {
    $(button).title = $(button).dataset.title.replace("HOURS", count(hours, "hour"));
  }
  await reloadWindow();
}

async function reloadWindow() {
  try {
    await loadSegments();
  } catch (error) {
    fail(error);
  }
}

/** Download the shown window's machine streams as one MP4 (joined on the server, not re-coded). */
async function exportWindow() {
  const camera = state.camera;
  const from = state.windowEnd - state.windowS, to = state.windowEnd + 1e-3;
  const status = $("export-status");
  status.textContent = "Exporting…";
  try {
    const blob = await api(`${camPath(camera)}/export.mp4?from=${from}&to=${to}`, { as: "blob" });
    const link = el("a", { href: URL.createObjectURL(blob), download: `${camera}-${Math.floor(from)}.mp4` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    status.textContent = `Exported ${(blob.size / 1e6).toFixed(1)} MB (the machine stream).`;
  } catch (error) {
    status.textContent = "";
    if (error.status === 404) showBanner("No footage in this window to export.");
    else fail(error);
  }
}

/** Epoch seconds as the value of a datetime-local input (the browser's time zone). */
function localInput(t) {
  const d = new Date(t * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Find segment `seq` outside the window (a link): its time, from the camera's listing pages. */
async function locate(seq) {
  let from = 0;
  for (;;) {
    const page = await api(`${camPath(state.camera)}/segments?from=${from}`);
    const found = page.find((s) => s.seq === seq);
    if (found) return found;
    if (page.length < 10000) return null;
    from = page.at(-1).end;
  }
}

// ---- the timeline ---------------------------------------------------------------------------

function layerText(segment) {
  const layers = Object.entries(segment.layers || {});
  return layers.length ? layers.map(([name, l]) => `${name}: ${bytes(l.bytes)} (${l.tier})`) : ["no layers"];
}

function renderTimeline() {
  const strip = $("timeline");
  const most = Math.max(1, ...state.segments.map((s) => s.detections));
  const barWidth = Math.min(72, Math.max(14, strip.clientWidth / Math.max(1, state.segments.length)));
  const every = Math.ceil(64 / (barWidth + 3));
  const items = [];
  state.segments.forEach((segment, i) => {
    const previous = state.segments[i - 1];
    const length = segment.end - segment.start;
    if (previous && segment.start - previous.end > Math.max(2 * length, 2)) {
      items.push(el("div", { class: "gap", title: `no video for ${duration(segment.start - previous.end)}` }));
    }
    const share = segment.detections / most;
    const cold = segment.layers?.machine?.tier === "cold";
    const label = `Segment ${segment.seq}, ${span(segment.start, segment.end)}, ` +
      `${count(segment.detections, "detection")}; ${layerText(segment).join(", ")}`;
    items.push(el("button", {
      type: "button", role: "option", class: `seg${cold ? " is-cold" : ""}`, "data-testid": "segment",
      "data-seq": segment.seq, "aria-label": label, "aria-selected": String(segment.seq === state.seq),
      style: { "--h": `${Math.round(190 - 175 * share)}`, "--fill": `${Math.round(12 + 88 * share)}%` },
      onclick: () => { hideTip(); selectSegment(segment.seq); },
      onmouseenter: (event) => showTip(event.currentTarget, segment),
      onfocus: (event) => { if (event.currentTarget.matches(":focus-visible")) showTip(event.currentTarget, segment); },
      onmouseleave: hideTip, onblur: hideTip,
    }, el("span", { class: "fill" }),
    i % every === 0 ? el("span", { class: "tick", "aria-hidden": "true" }, clock(new Date(segment.start * 1000)))
      : null));
  });
  strip.replaceChildren(...items);
  if (!state.segments.length) strip.append(el("p", { class: "muted" }, `No segments in this window (${count(state.windowS / 3600, "hour")}).`));
  strip.querySelector('[aria-selected="true"]')?.scrollIntoView({ block: "nearest", inline: "nearest" });
}

function showTip(anchor, segment) {
  const tip = $("tip");
  tip.replaceChildren(
    el("strong", {}, `Segment ${segment.seq}`),
    el("span", {}, span(segment.start, segment.end)),
    el("span", {}, `${count(segment.frames, "frame")} at ${segment.fps} fps · ${segment.codec} ` +
      `${segment.width}×${segment.height}`),
    el("span", {}, count(segment.detections, "detection")),
    ...layerText(segment).map((text) => el("span", { class: "muted" }, text)));
  tip.hidden = false;
  const box = anchor.getBoundingClientRect();
  const width = tip.offsetWidth;
  tip.style.left = `${Math.min(Math.max(8, box.left + box.width / 2 - width / 2), innerWidth - width - 8)}px`;
  tip.style.top = `${box.bottom + 8 + scrollY}px`;
}

function hideTip() {
  $("tip").hidden = true;
}

function moveSelection(step) {
  const i = state.segments.findIndex((s) => s.seq === state.seq);
  const next = state.segments[i + step];
  if (next) selectSegment(next.seq);
  return Boolean(next);
}

// ---- the player -----------------------------------------------------------------------------

const current = () => state.segments.find((s) => s.seq === state.seq);

function updateHash() {
  const hash = state.camera ? `#${encodeURIComponent(state.camera)}${state.seq !== null ? `/${state.seq}` : ""}` : "";
  history.replaceState(null, "", `${location.pathname}${hash}`);
}

/** The object URL of a segment's H.264 rendition, fetched once and kept in a small cache. */
function rendition(camera, seq, kind) {
  const key = `${camera}/${seq}/${kind}`;
  if (!state.videos.has(key)) {
    const url = api(`${camPath(camera)}/segments/${seq}/view.mp4?kind=${kind}`, { as: "blob" })
      .then((blob) => URL.createObjectURL(blob));
    url.catch(() => state.videos.delete(key));
    state.videos.set(key, url);
    while (state.videos.size > CACHE_SIZE) {
      const [oldest, entry] = state.videos.entries().next().value;
      state.videos.delete(oldest);
      entry.then((old) => URL.revokeObjectURL(old), () => {});
    }
  }
  return state.videos.get(key);
}

async function selectSegment(seq, { seekTo = null } = {}) {
  let segment = state.segments.find((s) => s.seq === seq);
  if (!segment) {
    const elsewhere = await locate(seq);
    if (elsewhere) {
      await openCamera(state.camera, { around: elsewhere.start });
      segment = state.segments.find((s) => s.seq === seq);
    }
  }
  if (!segment) {
    showBanner(`Camera ${state.camera} has no segment ${seq}.`);
    return;
  }
  state.seq = seq;
  state.seekTo = seekTo;
  updateHash();
  for (const bar of document.querySelectorAll(".seg")) {
    bar.setAttribute("aria-selected", String(Number(bar.dataset.seq) === seq));
  }
  document.querySelector(`.seg[data-seq="${seq}"]`)?.scrollIntoView({ block: "nearest", inline: "nearest" });
  $("player-view").hidden = false;
  $("player-title").textContent = `${state.camera} · segment ${seq}`;
  $("stage").style.setProperty("--ar", `${segment.width} / ${segment.height}`);
  const restorable = Boolean(segment.layers?.restoration);
  const restored = document.querySelector('input[name="kind"][value="restored"]');
  restored.disabled = !restorable;
  if (!restorable && state.kind === "restored") {
    state.kind = "machine";
    document.querySelector('input[name="kind"][value="machine"]').checked = true;
  }
  $("kind-note").textContent = restorable
    ? "Restored: the machine stream with the restoration layer applied, re-coded as H.264 for the browser."
    : "This segment has no restoration layer (the camera sent the machine stream only).";
  renderDetails(segment, null);
  $("prev").disabled = state.segments[0]?.seq === seq;
  $("next").disabled = state.segments.at(-1)?.seq === seq;
  await play(segment);
}

async function play(segment) {
  state.load?.abort();
  const load = new AbortController();
  state.load = load;
  const { camera } = state;
  const kind = state.kind;
  const video = $("video");
  setStatus(`Preparing the ${kind === "restored" ? "restored" : "machine"} stream…`);
  state.detections = [];
  indexDetections();
  try {
    const [url, detections] = await Promise.all([
      rendition(camera, segment.seq, kind),
      loadBoxes(segment, load.signal),
    ]);
    if (load.signal.aborted) return;
    state.detections = detections;
    indexDetections();
    renderDetails(segment, detections);
    video.src = url;
    setStatus("");
    video.play().catch(() => { /* autoplay refused: the controls are there */ });
    const next = state.segments[state.segments.indexOf(segment) + 1];
    if (next) rendition(camera, next.seq, kind).catch(() => {});
  } catch (error) {
    if (load.signal.aborted || error.name === "AbortError") return;
    setStatus(`Cannot play segment ${segment.seq}: ${error.message}`, true);
    fail(error);
  }
}

/** Where the detections `source` found in a segment are served. */
function detectionsPath(camera, seq, source) {
  const segment = `${camPath(camera)}/segments/${seq}`;
  return source === EDGE ? `${segment}/detections` : `${segment}/analyses/${encodeURIComponent(source)}`;
}

/** The segment's sources (the camera's and stored re-analyses) in the boxes menu, then the
 * detections of the chosen one (the camera's when the segment has no such analysis). */
async function loadBoxes(segment, signal) {
  const { sources } = await api(`${camPath(state.camera)}/segments/${segment.seq}/analyses`, { signal });
  const names = [EDGE, ...sources.filter((name) => name !== EDGE)];
  if (!names.includes(state.source)) state.source = EDGE;
  $("boxes-from").replaceChildren(...names.map((name) => el("option", { value: name },
    name === EDGE ? "found by the camera" : `found by ${name}`)));
  $("boxes-from").value = state.source;
  $("boxes-from-label").hidden = names.length < 2;
  return api(detectionsPath(state.camera, segment.seq, state.source), { signal });
}

async function showSource(source) {
  const segment = state.segments.find((s) => s.seq === state.seq);
  if (!segment) return;
  state.source = source;
  try {
    state.detections = await api(detectionsPath(state.camera, segment.seq, source));
  } catch (error) {
    fail(error);
    return;
  }
  indexDetections();
  renderDetails(segment, state.detections);
  draw();
}

function setStatus(text, isError = false) {
  const status = $("player-status");
  status.textContent = text;
  status.classList.toggle("is-error", isError);
  status.hidden = !text;
}

/** The facts of a segment and its classes (`detections` null while they load). */
function renderDetails(segment, detections) {
  const machine = segment.layers?.machine;
  const rows = [
    ["Time", span(segment.start, segment.end)],
    ["Frames", `${segment.frames} at ${segment.fps} fps (${duration(segment.end - segment.start)})`],
    ["Picture", `${segment.width}×${segment.height}, ${segment.codec.toUpperCase()}`],
    ...Object.entries(segment.layers || {}).map(([name, layer]) => [
      name[0].toUpperCase() + name.slice(1), `${bytes(layer.bytes)} · ${layer.tier} tier`]),
    ["Bitrate", machine ? `${((8 * machine.bytes) / Math.max(segment.end - segment.start, 1e-3) / 1000)
      .toFixed(0)} kbit/s (machine)` : "–"],
    ["Detections", String(segment.detections)],
  ];
  $("segment-details").replaceChildren(...rows.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
  const classes = new Map();
  for (const d of detections || []) classes.set(d.class, (classes.get(d.class) || 0) + 1);
  const sorted = [...classes].sort((a, b) => b[1] - a[1]);
  $("classes").replaceChildren(...(sorted.length ? sorted.map(([name, n]) => el("li", {},
    el("button", {
      type: "button", class: "chip", "aria-pressed": String(!state.hidden.has(name)),
      title: `Show or hide ${name} boxes`,
      onclick: (event) => {
        if (state.hidden.has(name)) state.hidden.delete(name); else state.hidden.add(name);
        event.currentTarget.setAttribute("aria-pressed", String(!state.hidden.has(name)));
        draw();
      },
    }, el("i", { style: { background: classColour(name) } }), `${name} `, el("b", {}, String(n)))))
    : [el("li", { class: "muted small" }, detections ? "none" : "loading…")]));
}

// ---- detection overlay ------------------------------------------------------------------------

function indexDetections() {
  state.byFrame = new Map();
  for (const d of state.detections) {
    if (!state.byFrame.has(d.frame)) state.byFrame.set(d.frame, []);
    state.byFrame.get(d.frame).push(d);
  }
  // The edge may detect every k-th frame; hold its boxes until the next detected frame.
  const frames = [...state.byFrame.keys()].sort((a, b) => a - b);
  let stride = 8;
  for (let i = 1; i < frames.length; i++) stride = Math.min(stride, frames[i] - frames[i - 1]);
  state.stride = frames.length > 1 ? stride : 1;
  draw();
}

function boxesAt(frame) {
  for (let f = frame; f > frame - state.stride && f >= 0; f--) {
    if (state.byFrame.has(f)) return state.byFrame.get(f);
  }
  return [];
}

function fitCanvas(canvas) {
  const ratio = devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  return [context, width, height];
}

function draw(mediaTime) {
  const segment = current();
  const video = $("video");
  const [context, width, height] = fitCanvas($("overlay"));
  if (!segment) return;
  const time = mediaTime ?? video.currentTime;
  const frame = Math.min(segment.frames - 1, Math.floor(time * segment.fps + 1e-3));
  if ($("show-boxes").checked && video.readyState >= 1) {
    const w = segment.width, h = segment.height;
    const scale = Math.min(width / w, height / h);
    const x0 = (width - w * scale) / 2, y0 = (height - h * scale) / 2;
    context.font = "600 12px system-ui, sans-serif";
    for (const d of boxesAt(frame)) {
      if (state.hidden.has(d.class)) continue;
      const colour = classColour(d.class);
      const [bx0, by0, bx1, by1] = d.box;
      const x = x0 + bx0 * scale, y = y0 + by0 * scale;
      const sure = d.score >= 0.5;
      context.strokeStyle = colour;
      context.lineWidth = sure ? 2 : 1;
      context.setLineDash(sure ? [] : [4, 3]);
      context.strokeRect(x, y, (bx1 - bx0) * scale, (by1 - by0) * scale);
      if (!sure) continue;
      const label = `${d.class} ${d.score.toFixed(2)}`;
      const tw = context.measureText(label).width + 8;
      const ly = y > 18 ? y - 17 : y;
      context.fillStyle = colour;
      context.fillRect(x - 1, ly, tw, 17);
      context.fillStyle = "#0b1016";
      context.fillText(label, x + 3, ly + 13);
    }
  }
  drawStrip(segment, frame);
}

/** Detections per frame under the video, with the playhead. */
function drawStrip(segment, frame) {
  const [context, width, height] = fitCanvas($("frames"));
  const n = segment.frames;
  const most = Math.max(1, ...[...state.byFrame.values()].map((list) => list.length));
  const step = width / n;
  for (let f = 0; f < n; f++) {
    const k = state.byFrame.get(f)?.length || 0;
    const bar = k ? 3 + ((height - 6) * k) / most : 2;
    context.fillStyle = f === frame ? "#e6edf3" : k ? "#2dd4bf" : "#26323d";
    context.fillRect(f * step + 0.5, height - bar, Math.max(1, step - 1), bar);
  }
  context.fillStyle = "#f59e0b";
  context.fillRect(Math.min(width - 2, (frame + 0.5) * step - 1), 0, 2, height);
}

function syncLoop() {
  const video = $("video");
  if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
    const onFrame = (_, meta) => {
      draw(meta.mediaTime);
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  } else {
    const tick = () => {
      if (!video.paused) draw();
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }
  for (const event of ["seeked", "pause", "loadeddata", "emptied"]) video.addEventListener(event, () => draw());
  new ResizeObserver(() => draw()).observe($("stage"));
}

// ---- search -----------------------------------------------------------------------------------

async function search(name) {
  const panel = $("search-panel");
  const results = $("search-results");
  panel.hidden = false;
  $("search-summary").textContent = "";
  results.replaceChildren(el("li", { class: "muted" }, `Searching for ${name}…`));
  try {
    const query = new URLSearchParams({ class: name });
    const camera = $("search-camera").value;
    const score = $("search-score").value;
    if (camera) query.set("camera", camera);
    if (score !== "") query.set("min_score", score);
    if ($("search-window").checked && state.camera) {
      query.set("from", String(state.windowEnd - state.windowS));
      query.set("to", String(state.windowEnd + 1e-3));
    }
    const hits = await api(`/api/search?${query}`);
    const total = hits.reduce((sum, hit) => sum + hit.count, 0);
    $("search-summary").textContent = hits.length
      ? `${count(hits.length, "segment")} · ${count(total, "detection")}` : "";
    if (!hits.length) {
      results.replaceChildren(el("li", { class: "muted", "data-testid": "search-empty" },
        `No ${name} detections.`));
      return;
    }
    results.replaceChildren(...hits.map((hit) => el("li", {}, el("button", {
      type: "button", class: "hit", "data-testid": "search-hit", "data-camera": hit.camera,
      "data-seq": hit.seq, onclick: () => openHit(hit),
    },
    el("span", { class: "hit-head" }, `${hit.camera} · segment ${hit.seq}`,
      el("span", { class: "badge", style: { "--c": classColour(hit.class) } }, `${hit.count}× ${hit.class}`)),
    el("span", { class: "muted small", title: span(hit.first, hit.last) },
      `${span(hit.first, hit.last, true)} · best score ${hit.best_score.toFixed(2)}`
      + (hit.source && hit.source !== EDGE ? ` · found by ${hit.source}` : ""))))));
  } catch (error) {
    results.replaceChildren(el("li", { class: "error" }, `Search failed: ${error.message}`));
    fail(error);
  }
}

async function openHit(hit) {
  state.source = hit.source || EDGE;
  await openCamera(hit.camera, { around: hit.first });
  const segment = state.segments.find((s) => s.seq === hit.seq);
  await selectSegment(hit.seq, { seekTo: segment ? Math.max(0, hit.first - segment.start) : null });
}

// ---- wiring -----------------------------------------------------------------------------------

function wire() {
  $("coco-classes").replaceChildren(...COCO.map((name) => el("option", { value: name })));
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    if (!token) return;
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    start();
  });
  $("sign-out").addEventListener("click", () => signOut());
  $("refresh").addEventListener("click", () => refresh());
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("search-class").value.trim().toLowerCase();
    if (name) search(name);
  });
  for (const radio of document.querySelectorAll('input[name="kind"]')) {
    radio.addEventListener("change", () => {
      state.kind = radio.value;
      const segment = current();
      if (segment) {
        state.seekTo = $("video").currentTime;
        play(segment);
      }
    });
  }
  $("show-boxes").addEventListener("change", () => draw());
  $("boxes-from").addEventListener("change", (event) => showSource(event.target.value));
  $("window-earlier").addEventListener("click", () => moveWindow(-1));
  $("window-later").addEventListener("click", () => moveWindow(1));
  $("window-newest").addEventListener("click", () => moveWindow(0));
  $("window-length").addEventListener("change", (event) => zoom(Number(event.target.value)));
  $("window-export").addEventListener("click", exportWindow);
  $("window-at").addEventListener("change", (event) => {
    if (event.target.value) showAround(new Date(event.target.value).getTime() / 1000);
  });
  for (const hours of WINDOW_HOURS) {
    $("window-length").append(el("option", { value: String(hours) }, `${hours} h`));
  }
  $("window-length").value = String(DEFAULT_WINDOW_HOURS);
  $("prev").addEventListener("click", () => moveSelection(-1));
  $("next").addEventListener("click", () => moveSelection(1));
  $("timeline").addEventListener("keydown", (event) => {
    const step = { ArrowLeft: -1, ArrowRight: 1 }[event.key];
    if (step && moveSelection(step)) {
      event.preventDefault();
      document.querySelector(`.seg[data-seq="${state.seq}"]`)?.focus();
    }
  });
  const video = $("video");
  video.addEventListener("loadedmetadata", () => {
    if (state.seekTo !== null) video.currentTime = Math.min(state.seekTo, Math.max(0, video.duration - 0.05));
    state.seekTo = null;
  });
  video.addEventListener("ended", () => {
    if ($("autoadvance").checked) moveSelection(1);
  });
  video.addEventListener("error", () => {
    if (video.getAttribute("src")) setStatus("The browser cannot decode this rendition.", true);
  });
  $("frames").addEventListener("click", (event) => {
    const segment = current();
    if (!segment || !video.duration) return;
    const box = event.currentTarget.getBoundingClientRect();
    const frame = Math.floor(((event.clientX - box.left) / box.width) * segment.frames);
    video.currentTime = Math.min(video.duration, (frame + 0.01) / segment.fps);
  });
  addEventListener("scroll", hideTip, { passive: true });
  addEventListener("hashchange", () => {
    if (state.token && !$("app").hidden) followHash();
  });
  syncLoop();
}

wire();
if (state.token) start(); else showSignIn();
