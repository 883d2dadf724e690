/// The daemon's web page (`GET /`): a small control surface in one HTML file, no build step and nothing
/// fetched from elsewhere. It reads everything through the WebSocket (`/api/ws`) and sends the same
/// commands the HTTP API takes, so it shows and does nothing the API does not.
///
/// Shows: now playing, the queue, each deck (position, tempo, beat phase, level), the master level, the
/// device and its xruns, recent tasks. Does: start a playlist, skip, stop; play / pause a deck; the
/// crossfader; a deck's filter and EQ. The admin token is typed once and kept in the browser's
/// localStorage; without it the page only watches.
enum WebPage {
    static let html = #"""
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>djd</title>
<style>
 :root { color-scheme: dark; --bg:#111; --fg:#ddd; --dim:#888; --acc:#4db6ff; --warn:#ff7a59; }
 body { background:var(--bg); color:var(--fg); font:14px/1.4 system-ui, sans-serif; margin:0; padding:16px; }
 h1 { font-size:18px; margin:0 0 12px; } h2 { font-size:14px; color:var(--dim); margin:16px 0 6px; font-weight:600; }
 .row { display:flex; gap:12px; flex-wrap:wrap; align-items:center; }
 .card { background:#1b1b1b; border:1px solid #2a2a2a; border-radius:8px; padding:10px 12px; min-width:220px; flex:1; }
 .bar { height:6px; background:#2a2a2a; border-radius:3px; overflow:hidden; margin:6px 0; }
 .bar > div { height:100%; background:var(--acc); width:0; }
 .beat { display:inline-block; width:10px; height:10px; border-radius:50%; background:#333; margin-right:3px; }
 .beat.on { background:var(--acc); }
 .dim { color:var(--dim); } .warn { color:var(--warn); }
 button, select, input { background:#222; color:var(--fg); border:1px solid #3a3a3a; border-radius:5px; padding:4px 8px; }
 button:hover { border-color:var(--acc); } input[type=range] { width:160px; }
 table { border-collapse:collapse; width:100%; } td { padding:2px 6px; border-bottom:1px solid #222; }
 .eq { display:grid; grid-template-columns:repeat(3, 1fr); gap:6px; margin-top:6px; font-size:12px; color:var(--dim); }
 .eq label { min-width:0; } .eq input { width:100%; box-sizing:border-box; margin:0; padding:0; }
 #log { font:12px monospace; color:var(--dim); max-height:120px; overflow:auto; white-space:pre-wrap; }
</style></head><body>
<h1>djd <span id="conn" class="dim">connecting…</span></h1>
<div class="row">
  <div class="card"><div class="dim">now playing</div><div id="now" style="font-size:16px">—</div>
    <div class="bar"><div id="nowbar"></div></div><div id="nowtime" class="dim"></div></div>
  <div class="card"><div class="dim">output</div><div id="out">—</div><div class="bar"><div id="master"></div></div></div>
  <div class="card"><div class="dim">token (admin, to control)</div>
    <input id="token" type="password" size="30" placeholder="from tokens.json"> <button id="save">use</button></div>
</div>
<h2>Queue</h2>
<div class="row"><select id="playlists"></select><button data-q="start">start</button><button data-q="skip">skip</button>
  <button data-q="stop">stop</button><span id="queue" class="dim"></span></div>
<h2>Decks</h2><div class="row" id="decks"></div>
<h2>Mixer</h2>
<div class="row">crossfader A <input id="xf" type="range" min="-1" max="1" step="0.01" value="-1"> B</div>
<h2>Tasks</h2><table id="tasks"></table>
<h2>Messages</h2><div id="log"></div>
<script>
const $ = id => document.getElementById(id);
let ws, nowDeck = null, nextId = 1, token = localStorage.getItem("djd-token") || "";
$("token").value = token;
const fmt = s => s == null ? "–" : `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
const db = v => v == null ? "-inf" : v.toFixed(1);
const pct = v => v == null ? 0 : Math.max(0, Math.min(100, (v + 60) / 60 * 100));
function log(t) { const l = $("log"); l.textContent = (new Date().toLocaleTimeString() + " " + t + "\n" + l.textContent).slice(0, 4000); }
function send(method, path, body) {
  if (!ws || ws.readyState !== 1) return;
  const m = { id: nextId++, method, path }; if (body) m.body = body; if (token) m.token = token;
  ws.send(JSON.stringify(m));
}
async function get(path) { const r = await fetch(path, token ? { headers: { Authorization: "Bearer " + token } } : {}); return r.json(); }
async function refresh() {
  try {
    const lists = await get("/api/dj/playlist");
    const sel = $("playlists"), cur = sel.value; sel.innerHTML = "";
    for (const p of lists) { const o = document.createElement("option"); o.value = p.id; o.textContent = `${p.name} (${p.entryCount})`; sel.appendChild(o); }
    if (cur) sel.value = cur;
    const st = await get("/api/dj/status");
    const o = st.output; $("out").textContent = `${o.device} · ${o.sampleRate} Hz · ${o.periodFrames}×${o.periods} · xruns ${o.xruns} · load p99 ${(o.loadP99 * 100).toFixed(1)} %`;
    const np = st.nowPlaying; $("now").textContent = np ? np.title : "—";
    nowDeck = np ? np.deck : null;
    const q = st.queue; $("queue").textContent = q.state + (q.next ? " · next: " + q.next.title : "") + (q.errors.length ? " · skipped " + q.errors.length : "");
    const tasks = await get("/api/team/tasks?limit=8");
    $("tasks").innerHTML = tasks.map(t => `<tr><td>${t.id}</td><td>${t.kind}</td><td>${t.state}</td><td class="dim">${t.progress != null && t.state === "running" ? Math.round(t.progress * 100) + " %" : ""} ${t.error ? t.error.slice(0, 80) : ""}</td></tr>`).join("");
  } catch (e) { log("refresh: " + e); }
}
function drawDecks(decks) {
  const box = $("decks");
  if (box.children.length !== decks.length) {
    box.innerHTML = decks.map(d => `<div class="card" id="deck${d.deck}"><b>Deck ${d.deck}</b> <span class="dim" id="d${d.deck}t"></span>
      <div class="bar"><div id="d${d.deck}p"></div></div><div id="d${d.deck}b"></div>
      <div class="row"><button data-d="${d.deck}" data-a="play">play</button><button data-d="${d.deck}" data-a="pause">pause</button>
      filter <input type="range" min="-1" max="1" step="0.01" value="0" data-f="${d.deck}"></div>
      <div class="eq">${["low", "mid", "high"].map(b => `<label>${b}<br><input type="range" min="-26" max="12" step="1" value="0" data-eq="${d.deck}" data-band="${b}"></label>`).join("")}</div></div>`).join("");
  }
  const now = decks.find(d => d.deck === nowDeck);
  if (now) { $("nowbar").style.width = (now.duration > 0 ? now.position / now.duration * 100 : 0) + "%"; $("nowtime").textContent = `${fmt(now.position)} / ${fmt(now.duration)}`; }
  for (const d of decks) {
    $(`d${d.deck}t`).textContent = `${fmt(d.position)} ${d.playing ? "▶" : "❚❚"} ${d.bpm ? d.bpm.toFixed(2) + " BPM" : ""} ${db(d.peakDb)} dB`;
    $(`d${d.deck}p`).style.width = pct(d.peakDb) + "%";
    const beat = d.beat == null ? -1 : d.beat % 4;
    $(`d${d.deck}b`).innerHTML = [0, 1, 2, 3].map(i => `<span class="beat ${i === beat ? "on" : ""}"></span>`).join("") +
      (d.beatPhase != null ? ` <span class="dim">phase ${d.beatPhase.toFixed(2)}</span>` : "");
  }
}
function connect() {
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/ws" + (token ? "?token=" + encodeURIComponent(token) : "");
  ws = new WebSocket(url);
  ws.onopen = () => { $("conn").textContent = "connected"; refresh(); };
  ws.onclose = () => { $("conn").textContent = "disconnected — retrying"; setTimeout(connect, 2000); };
  ws.onmessage = ev => {
    const m = JSON.parse(ev.data);
    if (m.type === "hello") $("conn").textContent = "connected as " + m.role;
    else if (m.type === "state") { drawDecks(m.decks); $("master").style.width = pct(m.masterPeakDb) + "%"; }
    else if (m.type === "response" && m.status >= 400) log(`${m.status} ${m.error ? m.error.message : ""}`);
    else if (m.type === "task" && ["succeeded", "failed", "deadLettered", "cancelled", "started"].includes(m.event)) refresh();
    else if (m.type === "queue") { log(`queue: ${m.event} ${m.item ? m.item.title : ""} ${m.error || ""}`); refresh(); }
    else if (m.type === "notice") log(m.message);
  };
}
document.addEventListener("click", e => {
  const t = e.target;
  if (t.dataset.a) send("POST", `/api/dj/decks/${t.dataset.d}/${t.dataset.a}`);
  if (t.dataset.q === "start") send("POST", `/api/dj/playlist/${$("playlists").value}/start`);
  else if (t.dataset.q) send("POST", `/api/dj/playlist/${t.dataset.q}`, t.dataset.q === "stop" ? { fadeSeconds: 2 } : undefined);
  if (t.dataset.q) setTimeout(refresh, 300);
});
document.addEventListener("input", e => {
  const t = e.target;
  if (t.id === "xf") send("PUT", "/api/dj/effects", { master: { crossfader: +t.value } });
  if (t.dataset.f) send("PUT", "/api/dj/effects", { decks: [{ deck: +t.dataset.f, filter: +t.value }] });
  if (t.dataset.eq) send("PUT", "/api/dj/effects", { decks: [{ deck: +t.dataset.eq, eq: { [t.dataset.band]: +t.value } }] });
});
$("save").onclick = () => { token = $("token").value.trim(); localStorage.setItem("djd-token", token); ws.close(); };
connect(); setInterval(refresh, 3000);
</script></body></html>
"""#
}
