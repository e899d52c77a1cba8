// The live page: pick or upload a portrait, stream the camera to the server as JPEG frames over
// a WebSocket, draw the animated frames as they come back, and measure camera-to-screen latency.
//
// Each frame carries the time it was captured (performance.now()); the server echoes it with the
// animated frame, and the time it is drawn minus that stamp is the latency. At most `inflight`
// frames (default 2) are on their way at once; the server animates only the newest it has.
// window.liveStats holds the figures (median and 95th percentile latency, frames sent, received
// and dropped). Query parameters: record=N keeps the last N (sent, received) frame pairs for
// window.liveRecord(); noframes=MS is how long a camera may give no frame before the page says so.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const intParam = (name, fallback, low) => Math.max(low, parseInt(params.get(name) || fallback, 10) || fallback);
  const RECORD = intParam("record", 0, 0);
  const NO_FRAMES_MS = intParam("noframes", 3000, 500);
  const INFLIGHT = intParam("inflight", 2, 1);
  const CAPTURE_SIDE = 480;
  const WINDOW = 500; // latencies kept for the median and 95th percentile

  const stats = { sent: 0, received: 0, dropped: 0, errors: 0, median: null, p95: null, fps: 0, latencies: [] };
  window.liveStats = stats;
  const shownAt = [];
  // one id per tab, kept over reloads, so the avatar page's address stays the same
  const session = sessionStorage.getItem("clothflow-live-session") ||
    Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
  sessionStorage.setItem("clothflow-live-session", session);
  window.liveSession = session;
  const avatarUrl = `/avatar?session=${session}`;
  $("obs-link").href = avatarUrl;
  $("obs-link").textContent = location.origin + avatarUrl;

  let info = null, mode = "face", source = null, portrait = null, preparing = 0;
  let stream = null, socket = null, ready = false, fatal = false, watchdog = null;
  let lastSeq = 0, lastAck = 0, lastAckAt = 0, lastDrawn = 0, encoding = false, fresh = false;
  let lastFrameAt = 0, quiet = false, lastTime = -1;
  const video = $("camera"), avatar = $("avatar"), capture = document.createElement("canvas");
  const sentBlobs = new Map(), pairs = [];

  function say(text, kind) {
    $("message").textContent = text || "";
    $("message").className = kind === "info" ? "info" : "";
  }

  function buttons() {
    $("start").disabled = !portrait || !!stream || preparing > 0;
    $("stop").disabled = !stream;
    $("recentre").disabled = !stream;
  }

  // ---- portraits ----------------------------------------------------------------------------
  async function loadInfo() {
    try { info = await (await fetch("/api/info")).json(); } catch (e) {
      return say("the server does not answer; is `clothflow live` still running?");
    }
    for (const ex of info.examples) {
      const b = Object.assign(document.createElement("button"), { title: ex.name });
      b.dataset.name = ex.name;
      b.appendChild(Object.assign(new Image(), { alt: ex.name, src: ex.url }));
      b.addEventListener("click", () => pick({ example: ex.name }, b));
      $("examples").appendChild(b);
    }
    document.querySelector("input[name=mode][value=body]").disabled = !info.body.available;
    $("body-label").classList.toggle("off", !info.body.available);
    const about = info.body.about;
    $("body-about").textContent = info.body.available ? `Body mode: ${about}` : about[0].toUpperCase() + about.slice(1);
    const first = $("examples").querySelector("button");
    if (first) pick({ example: first.dataset.name }, first);
  }

  function pick(what, button) {
    source = what;
    document.querySelectorAll(".examples button").forEach((b) => b.classList.toggle("picked", b === button));
    prepare();
  }

  async function prepare() {
    if (!source) return;
    const ticket = ++preparing;
    const query = new URLSearchParams({ mode });
    if (source.example) query.set("example", source.example);
    say("preparing the portrait…", "info");
    buttons();
    try {
      const res = await fetch(`/api/portraits?${query}`, {
        method: "POST", body: source.file || null,
        headers: source.file ? { "Content-Type": "application/octet-stream" } : {},
      });
      const data = await res.json().catch(() => ({ error: `the server answered ${res.status}` }));
      if (ticket !== preparing) return;
      if (!res.ok) throw new Error(data.error || `the server answered ${res.status}`);
      portrait = data;
      $("portrait").src = `/api/portraits/${data.token}.jpg`;
      $("about").textContent = data.about;
      $("body-about").hidden = data.mode === "body"; // said just above
      say("");
      if (stream) openSocket();
    } catch (e) {
      if (ticket !== preparing) return;
      say(e.message + (portrait ? " (the previous portrait stays)" : ""));
      if (portrait) document.querySelector(`input[name=mode][value=${(mode = portrait.mode)}]`).checked = true;
    } finally {
      if (ticket === preparing) preparing = 0;
      buttons();
    }
  }

  // ---- camera -------------------------------------------------------------------------------
  const CAMERA_ERRORS = {
    NotAllowedError: "camera access was refused: allow the camera for this page and press Start again",
    NotFoundError: "no camera found on this computer",
    NotReadableError: "the camera cannot be opened: another program is probably using it",
  };

  async function startCamera() {
    if (!portrait) return say("pick or upload a portrait first");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia)
      return say("this browser gives no camera to this page: open it on localhost, or over https");
    $("start").disabled = true;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    } catch (e) {
      stream = null;
      buttons();
      return say(CAMERA_ERRORS[e.name] || `the camera cannot be opened (${e.name}: ${e.message})`);
    }
    say("");
    fatal = false;
    video.srcObject = stream;
    video.play().catch(() => {});
    for (const track of stream.getVideoTracks())
      track.addEventListener("ended", () => { stopCamera(); say("the camera stopped (unplugged, or taken by another program)"); });
    lastFrameAt = performance.now();
    quiet = false;
    watchdog = setInterval(check, 250);
    if ("requestVideoFrameCallback" in video) video.requestVideoFrameCallback(onFrame);
    buttons();
    openSocket();
  }

  function onFrame() {
    if (!stream) return;
    newFrame();
    video.requestVideoFrameCallback(onFrame);
  }

  function newFrame() {
    lastFrameAt = performance.now();
    fresh = true;
    if (quiet) say($("camera-note").textContent = "");
    quiet = false;
    send();
  }

  function check() {
    if (!stream) return;
    if (!("requestVideoFrameCallback" in video) && video.currentTime !== lastTime && video.readyState >= 2) {
      lastTime = video.currentTime;
      newFrame();
    }
    const silent = performance.now() - lastFrameAt;
    if (silent > NO_FRAMES_MS) {
      quiet = true;
      const text = `the camera gives no frames (none for ${Math.round(silent / 1000)} s): is it covered, switched off or used by another program?`;
      $("camera-note").textContent = text;
      say(text);
    }
    if (lastSeq > lastAck && performance.now() - lastAckAt > 3000) lastAck = lastSeq; // a lost reply
  }

  function stopCamera() {
    closeSocket();
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    video.srcObject = null;
    clearInterval(watchdog);
    $("camera-note").textContent = $("avatar-note").textContent = "";
    buttons();
  }

  // ---- the socket ---------------------------------------------------------------------------
  function openSocket() {
    closeSocket();
    lastSeq = lastAck = lastDrawn = 0; // numbering starts again with each socket
    sentBlobs.clear();
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/live`);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => ws.send(JSON.stringify({ type: "start", session, portrait: portrait.token }));
    ws.onmessage = (ev) => { if (ws === socket) receive(ev.data, ws); }; // a closed socket's late replies are dropped
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      ready = false;
      if (stream && !fatal) {
        say("the connection to the server was lost; trying again…");
        setTimeout(() => { if (stream && !socket && !fatal) openSocket(); }, 1500);
      }
    };
    socket = ws;
  }

  function closeSocket() {
    const ws = socket;
    socket = null;
    ready = false;
    if (ws) ws.close();
  }

  function send() {
    if (!socket || !ready || encoding || !fresh || lastSeq - lastAck >= INFLIGHT || !video.videoWidth) return;
    const scale = Math.min(1, CAPTURE_SIDE / Math.max(video.videoWidth, video.videoHeight));
    capture.width = Math.round(video.videoWidth * scale);
    capture.height = Math.round(video.videoHeight * scale);
    const stamp = performance.now();
    capture.getContext("2d").drawImage(video, 0, 0, capture.width, capture.height);
    fresh = false;
    encoding = true;
    const seq = ++lastSeq, ws = socket;
    capture.toBlob((blob) => {
      encoding = false;
      if (ws !== socket) return;
      if (!blob || ws.readyState !== WebSocket.OPEN) { lastAck = Math.max(lastAck, seq); return; }
      const head = new DataView(new ArrayBuffer(16));
      head.setFloat64(0, stamp, true);
      head.setUint32(8, seq, true);
      ws.send(new Blob([head.buffer, blob]));
      stats.sent++;
      if (lastSeq - lastAck === 1) lastAckAt = performance.now();
      if (RECORD) {
        sentBlobs.set(seq, blob);
        sentBlobs.delete(seq - 4 * RECORD - 20);
      }
    }, "image/jpeg", 0.8);
  }

  function ack(seq) {
    if (seq > lastAck) lastAck = seq;
    lastAckAt = performance.now();
  }

  function note(flags) {
    let text = "";
    if (!(flags & 1)) text = portrait && portrait.mode === "body" ? "no person in the camera image" :
      "no face in the camera image: the avatar keeps its last expression";
    else if (portrait && portrait.mode === "body" && !(flags & 2))
      text = "body mode follows your pose once the camera sees you down to the hips: step back";
    $("avatar-note").textContent = text;
  }

  async function receive(data, ws) {
    if (typeof data === "string") {
      const msg = JSON.parse(data);
      if (msg.type === "ready") {
        ready = true;
        say("");
      } else if (msg.type === "error" && msg.fatal) {
        fatal = true;
        stopCamera();
        return say(msg.message);
      } else if (msg.type === "error") {
        stats.errors++;
        if (msg.seq) ack(msg.seq);
        $("avatar-note").textContent = msg.message;
      }
      return send();
    }
    const head = new DataView(data, 0, 24);
    const stamp = head.getFloat64(0, true), seq = head.getUint32(8, true);
    ack(seq);
    stats.dropped = head.getUint32(20, true);
    note(head.getUint32(16, true));
    send();
    const blob = new Blob([new Uint8Array(data, 24)], { type: "image/jpeg" });
    let bitmap;
    try { bitmap = await createImageBitmap(blob); } catch (e) { return; }
    if (ws !== socket || seq < lastDrawn) return bitmap.close();
    lastDrawn = seq;
    if (avatar.width !== bitmap.width || avatar.height !== bitmap.height)
      Object.assign(avatar, { width: bitmap.width, height: bitmap.height });
    avatar.getContext("2d").drawImage(bitmap, 0, 0);
    bitmap.close();
    const now = performance.now();
    stats.received++;
    stats.latencies.push(now - stamp);
    if (stats.latencies.length > WINDOW) stats.latencies.shift();
    shownAt.push(now);
    if (RECORD) {
      pairs.push({ seq, sent: sentBlobs.get(seq), received: blob });
      if (pairs.length > RECORD) pairs.shift();
    }
  }

  function showStats() {
    const sorted = [...stats.latencies].sort((a, b) => a - b);
    const at = (q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
    stats.median = sorted.length ? at(0.5) : null;
    stats.p95 = sorted.length ? at(0.95) : null;
    const now = performance.now();
    while (shownAt.length && now - shownAt[0] > 2000) shownAt.shift();
    stats.fps = shownAt.length / 2;
    $("median").textContent = stats.median === null ? "–" : Math.round(stats.median);
    $("p95").textContent = stats.p95 === null ? "–" : Math.round(stats.p95);
    for (const key of ["received", "sent", "dropped"]) $(key).textContent = stats[key];
    $("fps").textContent = stats.fps.toFixed(1);
  }

  const dataUrl = (blob) => new Promise((resolve, reject) => {
    const reader = Object.assign(new FileReader(), { onload: () => resolve(reader.result), onerror: reject });
    reader.readAsDataURL(blob);
  });

  // The kept (sent, received) pairs as data URLs, oldest first (with ?record=N).
  window.liveRecord = async () => Promise.all(pairs.filter((p) => p.sent).map(async (p) =>
    ({ seq: p.seq, sent: await dataUrl(p.sent), received: await dataUrl(p.received) })));

  document.querySelectorAll("input[name=mode]").forEach((r) => r.addEventListener("change", () => prepare(mode = r.value)));
  $("upload").addEventListener("change", () => {
    const file = $("upload").files[0];
    if (!file) return;
    document.querySelectorAll(".examples button").forEach((b) => b.classList.remove("picked"));
    source = { file };
    prepare();
  });
  $("start").addEventListener("click", startCamera);
  $("stop").addEventListener("click", () => { stopCamera(); say(""); });
  $("recentre").addEventListener("click", () => { if (socket && ready) socket.send(JSON.stringify({ type: "restart" })); });
  window.addEventListener("pagehide", stopCamera);
  setInterval(showStats, 250);
  loadInfo();
})();
