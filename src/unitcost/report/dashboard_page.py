"""The dashboard's one page: HTML, CSS and a small script that draws inline SVG charts from
`/dashboard/api/summary`. No CDN, no library: it works offline and behind any proxy.

    PAGE   # the whole document, served as is

Every bar and point carries `data-value` (the exact dollars the JSON sent), so a test can
read the numbers back from the chart itself.
"""

from __future__ import annotations

__all__ = ["PAGE"]

_STYLE = """
*{box-sizing:border-box}body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f2d3d;color:#fff;padding:.8rem 1.5rem;display:flex;gap:1.5rem;align-items:center;flex-wrap:wrap}
header h1{font-size:1.1rem;margin:0}header label{font-size:.85rem}
main{max-width:1200px;margin:0 auto;padding:1rem 1.5rem}
.tiles{display:flex;gap:.8rem;flex-wrap:wrap;margin:.5rem 0 1rem}
.tile{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.6rem .9rem;min-width:10rem}
.tile .v{font-size:1.25rem;font-weight:600;font-variant-numeric:tabular-nums}.tile .k{font-size:.75rem;color:#666}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.8rem 1rem;margin:0 0 1rem}
.card h2{font-size:1rem;margin:0 0 .5rem}.row{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
@media(max-width:900px){.row{grid-template-columns:1fr}}
table{border-collapse:collapse;font-size:.8rem;margin:.3rem 0}th,td{border-bottom:1px solid #eee;padding:.2rem .5rem}
td.r{text-align:right;font-variant-numeric:tabular-nums}th{text-align:left;color:#555}
.dims button{margin-right:.3rem;border:1px solid #999;background:#fff;border-radius:4px;padding:.15rem .5rem;cursor:pointer}
.dims button.on{background:#1f2d3d;color:#fff}
#status{font-size:.8rem;color:#ccd}#err{color:#b00;font-weight:600}
svg text{font-size:10px;fill:#333}.legend span{display:inline-block;margin-right:.8rem;font-size:.75rem}
.legend i{display:inline-block;width:.7rem;height:.7rem;margin-right:.25rem;vertical-align:middle}
"""

_SCRIPT = r"""
"use strict";
const COLOURS = ["#4c72b0","#dd8452","#55a868","#c44e52","#8172b3","#bbbbbb"];
const KEY = "unitcost-admin-key";
const base = location.pathname.replace(/\/$/, "");
let dim = "feature", data = null;
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
const money = (x) => "$" + Number(x).toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: Math.abs(x) < 1 ? 4 : 2});
const label = (v) => v === null ? "(none)" : String(v);

function takeKey() {
  const m = location.hash.match(/key=([^&]+)/);
  if (m) { sessionStorage.setItem(KEY, decodeURIComponent(m[1])); history.replaceState(null, "", location.pathname + location.search); }
  return sessionStorage.getItem(KEY);
}

function svgEl(w, h, body, title) {
  return `<svg viewBox="0 0 ${w} ${h}" width="100%" style="max-width:${w}px" role="img" aria-label="${esc(title)}">${body}</svg>`;
}

// The top of a y axis: the data's maximum rounded up so that each of the 4 steps is
// 1, 2, 2.5 or 5 times a power of ten ($16.16 steps read as noise; $20 steps do not).
function niceMax(max) {
  const step = max / 4, unit = Math.pow(10, Math.floor(Math.log10(step)));
  const nice = [1, 2, 2.5, 5, 10].find((m) => m * unit >= step * (1 - 1e-9));
  return 4 * nice * unit;
}

function axes(w, h, pad, maxY, yLabel, xLabel, fmt) {
  let s = "";
  for (let i = 0; i <= 4; i++) {
    const y = h - pad.b - (h - pad.t - pad.b) * i / 4;
    s += `<line x1="${pad.l}" x2="${w - pad.r}" y1="${y}" y2="${y}" stroke="#eee"/>`;
    s += `<text x="${pad.l - 4}" y="${y + 3}" text-anchor="end">${esc(fmt(maxY * i / 4))}</text>`;
  }
  s += `<text transform="translate(12 ${(h - pad.b + pad.t) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`;
  s += `<text x="${(w + pad.l - pad.r) / 2}" y="${h - 4}" text-anchor="middle">${esc(xLabel)}</text>`;
  return s;
}

function legend(names) {
  return `<div class="legend">` + names.map((n, i) => `<span><i style="background:${COLOURS[i % COLOURS.length]}"></i>${esc(n)}</span>`).join("") + `</div>`;
}

function spendChart() {
  const t = data.tables[`spend_by_${dim}_per_day`];
  const days = data.days;
  const totals = new Map();
  for (const r of t.values) totals.set(label(r[1]), (totals.get(label(r[1])) || 0) + Number(r[4]));
  const names = [...totals.keys()].sort((a, b) => totals.get(b) - totals.get(a));
  const top = names.slice(0, 5);
  const series = names.length > 5 ? [...top, "other"] : top;
  const grid = new Map(series.map((s) => [s, new Map()]));
  for (const r of t.values) {
    const s = top.includes(label(r[1])) ? label(r[1]) : "other";
    const m = grid.get(s);
    m.set(r[0], (m.get(r[0]) || 0) + Number(r[4]));
  }
  const perDay = days.map((d) => series.reduce((acc, s) => acc + (grid.get(s).get(d) || 0), 0));
  const maxY = niceMax(Math.max(1e-9, ...perDay));
  const w = 560, h = 260, pad = {l: 62, r: 8, t: 8, b: 42};
  const bw = (w - pad.l - pad.r) / Math.max(1, days.length);
  let s = axes(w, h, pad, maxY, "$ per day", "day (UTC)", money);
  days.forEach((d, i) => {
    let y = h - pad.b;
    series.forEach((name, k) => {
      const v = grid.get(name).get(d) || 0;
      if (v <= 0) return;
      const bh = (h - pad.t - pad.b) * v / maxY;
      y -= bh;
      s += `<rect class="spend" data-series="${esc(name)}" data-day="${d}" data-value="${v}" x="${pad.l + i * bw + 1}" y="${y}" width="${Math.max(1, bw - 2)}" height="${bh}" fill="${COLOURS[k % COLOURS.length]}"><title>${esc(name)} ${d}: ${money(v)}</title></rect>`;
    });
    const every = Math.ceil(days.length / 8);
    if (i % every === 0) s += `<text x="${pad.l + i * bw + bw / 2}" y="${h - pad.b + 12}" text-anchor="middle">${d.slice(5)}</text>`;
  });
  $("spend").innerHTML = svgEl(w, h, s, `cost per day by ${dim}`) + legend(series);
}

function ratesChart() {
  const t = data.tables.rates_per_week;
  const rows = t.values;
  const names = [["$/1M input", 3], ["$/1M output", 4], ["$/1M blended", 5]];
  const vals = rows.flatMap((r) => names.map(([, j]) => r[j] === null ? 0 : Number(r[j])));
  const maxY = niceMax(Math.max(1e-9, ...vals));
  const w = 560, h = 260, pad = {l: 62, r: 24, t: 8, b: 42};
  const step = rows.length > 1 ? (w - pad.l - pad.r) / (rows.length - 1) : 0;
  let s = axes(w, h, pad, maxY, "$ per 1M tokens", "week starting (Monday, UTC)", (v) => "$" + v.toFixed(2));
  const x = (i) => rows.length > 1 ? pad.l + i * step : (w + pad.l - pad.r) / 2;
  const y = (v) => h - pad.b - (h - pad.t - pad.b) * v / maxY;
  names.forEach(([name, j], k) => {
    const pts = rows.map((r, i) => r[j] === null ? null : [x(i), y(Number(r[j])), r[j], r[0]]).filter((p) => p);
    if (pts.length > 1) s += `<polyline fill="none" stroke="${COLOURS[k]}" stroke-width="2" points="${pts.map((p) => p[0] + "," + p[1]).join(" ")}"/>`;
    for (const p of pts) s += `<circle class="rate" data-series="${esc(name)}" data-week="${p[3]}" data-value="${p[2]}" cx="${p[0]}" cy="${p[1]}" r="3.5" fill="${COLOURS[k]}"><title>${esc(name)} ${p[3]}: $${Number(p[2]).toFixed(4)}</title></circle>`;
  });
  rows.forEach((r, i) => { s += `<text x="${x(i)}" y="${h - pad.b + 12}" text-anchor="middle">${r[0].slice(5)}</text>`; });
  $("rates").innerHTML = svgEl(w, h, s, "$ per 1M tokens per week") + legend(names.map((n) => n[0]));
}

function mixChart() {
  const rows = data.tables.model_mix.values;
  const w = 560, rowH = 26, pad = {l: 150, r: 60, t: 6, b: 30};
  const h = pad.t + pad.b + rowH * Math.max(1, rows.length);
  let s = "";
  rows.forEach((r, i) => {
    const share = r[5] === null ? 0 : r[5];
    const y = pad.t + i * rowH;
    const bw = (w - pad.l - pad.r) * share;
    s += `<text x="${pad.l - 6}" y="${y + 16}" text-anchor="end">${esc(label(r[0]))}</text>`;
    s += `<rect class="mix" data-series="${esc(label(r[0]))}" data-value="${r[4]}" x="${pad.l}" y="${y + 4}" width="${Math.max(0, bw)}" height="${rowH - 8}" fill="${COLOURS[0]}"><title>${esc(label(r[0]))}: ${money(r[4])}</title></rect>`;
    s += `<text x="${pad.l + bw + 4}" y="${y + 16}">${(share * 100).toFixed(1)}%</text>`;
  });
  s += `<text x="${(w + pad.l - pad.r) / 2}" y="${h - 8}" text-anchor="middle">share of the period's cost</text>`;
  $("mix").innerHTML = svgEl(w, h, s, "model mix");
}

function table(t) {
  const head = t.columns.map((c) => `<th>${esc(c.name)}</th>`).join("");
  const body = t.cells.map((r) => "<tr>" + r.map((v, j) => `<td class="${["text", "day"].includes(t.columns[j].kind) ? "" : "r"}">${esc(v)}</td>`).join("") + "</tr>").join("");
  const empty = t.cells.length ? "" : `<p>no rows in this period</p>`;
  return `<h2>${esc(t.title)}</h2><table id="t-${esc(t.key)}"><tr>${head}</tr>${body}</table>${empty}` + (t.note ? `<p style="font-size:.75rem;color:#666">${esc(t.note)}</p>` : "");
}

function render() {
  const summary = data.tables.summary.values;
  $("tiles").innerHTML = summary.map((r) => `<div class="tile"><div class="k">${esc(r[0])}</div><div class="v" data-figure="${esc(r[0])}">${esc(r[1])}</div></div>`).join("");
  spendChart(); ratesChart(); mixChart();
  const keys = ["spend_by_" + dim, "outcomes", "cache_savings", "rates_per_week", "model_mix", "budget_burn_down"];
  $("tables").innerHTML = keys.filter((k) => data.tables[k]).map((k) => `<div class="card">${table(data.tables[k])}</div>`).join("");
  $("status").textContent = `${data.rows.toLocaleString("en-US")} rows, ${data.first || "–"} to ${data.last || "–"}; refreshed ${new Date().toISOString().slice(11, 19)} UTC`;
}

async function load() {
  const key = takeKey();
  if (!key) { $("login").style.display = "block"; return; }
  $("login").style.display = "none";
  const q = new URLSearchParams();
  if ($("since").value) q.set("since", $("since").value);
  if ($("until").value) q.set("until", $("until").value);
  try {
    const res = await fetch(`${base}/api/summary?${q}`, {headers: {Authorization: `Bearer ${key}`}});
    const body = await res.json();
    if (!res.ok) {
      $("err").textContent = body.error ? body.error.message : `HTTP ${res.status}`;
      if (res.status === 401) { sessionStorage.removeItem(KEY); $("login").style.display = "block"; }
      return;
    }
    $("err").textContent = "";
    data = body;
    render();
    document.body.dataset.loaded = "1";
  } catch (e) {
    $("err").textContent = "cannot reach the gateway: " + e.message;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".dims button").forEach((b) => b.addEventListener("click", () => {
    dim = b.dataset.dim;
    document.querySelectorAll(".dims button").forEach((x) => x.classList.toggle("on", x === b));
    if (data) render();
  }));
  $("since").addEventListener("change", load);
  $("until").addEventListener("change", load);
  $("login").addEventListener("submit", (ev) => { ev.preventDefault(); sessionStorage.setItem(KEY, $("key").value); load(); });
  load();
  setInterval(load, 15000);
});
"""

PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>unitcost dashboard</title><link rel="icon" href="data:,">
<style>{_STYLE}</style></head>
<body>
<header><h1>unitcost: what the ledger says</h1>
<label>since <input type="date" id="since"></label>
<label>until <input type="date" id="until"></label>
<span id="status"></span></header>
<main>
<p id="err"></p>
<form id="login" style="display:none" class="card"><label>admin key
<input type="password" id="key" autocomplete="off"></label> <button>show</button></form>
<div class="tiles" id="tiles"></div>
<div class="row">
<div class="card"><h2>Cost per day</h2><div class="dims">
<button data-dim="feature" class="on">feature</button><button data-dim="tenant">tenant</button>
<button data-dim="deployment">deployment</button><button data-dim="cohort">cohort</button></div>
<div id="spend"></div></div>
<div class="card"><h2>$ per 1M tokens, per week</h2><div id="rates"></div></div>
</div>
<div class="card"><h2>Model mix</h2><div id="mix"></div></div>
<div id="tables"></div>
</main>
<script>{_SCRIPT}</script>
</body></html>
"""
