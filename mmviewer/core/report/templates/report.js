"use strict";
// mmviewer report: draws the map, the metrics, the suspects and the sample items from the JSON
// in #mm-data. No network, no libraries. window.mmReport exposes a little for automated checks.
(function () {
  const D = JSON.parse(document.getElementById("mm-data").textContent);
  const $ = (id) => document.getElementById(id);
  const fmt = (v, d = 3) => (v === null || v === undefined || Number.isNaN(v)) ? "–"
    : (typeof v === "number" ? (Number.isInteger(v) && d !== 3 ? v.toLocaleString() : v.toFixed(d)) : String(v));
  const int = (v) => (v === null || v === undefined) ? "–" : Number(v).toLocaleString();

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") e.textContent = v;
      else if (k === "cls") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const kid of kids.flat()) if (kid !== null && kid !== undefined) e.append(kid);
    return e;
  }

  function b64bytes(text) {
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  // -- header, contents, footer ---------------------------------------------------------------
  function renderHeader() {
    const h = D.header;
    const mods = Object.entries(h.modalities).map(([m, n]) => `${m} ${int(n)}`).join(" · ");
    const weights = Object.entries(h.weights || {}).map(([m, w]) => `${m} ${w}`).join(" · ");
    const enc = Object.entries(h.encoders || {}).map(([m, e]) => `${m}: ${e}`).join("; ");
    $("head").append(
      el("h1", {text: h.title}),
      el("p", {cls: "sub", text: `${int(h.n_items)} items (${mods}) · alignment ${h.method} · fusion weights ${weights || "–"} · map: ${h.layout || "layout"}`}),
      el("p", {cls: "sub", text: `Encoders — ${enc}`}),
      ...h.sampling.map((s) => el("p", {cls: "note", text: s})));
    const links = [["map-section", "Map"], ["metrics-section", "Metrics"],
      ["suspects-section", "Suspects"], ["samples-section", "Items and matches"]];
    for (const [id, text] of links) {
      if (id === "suspects-section" && !D.suspects) continue;
      $("toc").append(el("a", {href: "#" + id, text}));
    }
    $("foot").append(el("p", {text: `Made with mmviewer ${h.version} on ${h.created} from ${h.source || h.title}. ` +
      "This file is self-contained: it makes no network request and needs no server."}));
  }

  // -- the map --------------------------------------------------------------------------------
  const MAP = {hovered: -1, colouring: 0, active: null, pictures: true, picturesMax: 250};
  function setupMap() {
    const m = D.map, n = m.n_points;
    const q = new Uint16Array(b64bytes(m.xy).buffer);
    const [x0, x1, y0, y1] = m.bounds;
    const sx = (x1 - x0) || 1, sy = (y1 - y0) || 1;
    MAP.x = new Float32Array(n); MAP.y = new Float32Array(n);
    for (let i = 0; i < n; i++) { MAP.x[i] = x0 + q[2 * i] / 65535 * sx; MAP.y[i] = y0 + q[2 * i + 1] / 65535 * sy; }
    MAP.bounds = [x0, x1, y0, y1];
    MAP.order = new Uint32Array(n);  // a fixed shuffled draw order: no label paints over all others
    for (let i = 0; i < n; i++) MAP.order[i] = i;
    let seed = 12345;
    for (let i = n - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const j = seed % (i + 1);
      const t = MAP.order[i]; MAP.order[i] = MAP.order[j]; MAP.order[j] = t;
    }
    MAP.index = D.colourings.map((c) => b64bytes(c.index));
    MAP.images = D.thumbs.map(() => null);
    MAP.canvas = $("map"); MAP.ctx = MAP.canvas.getContext("2d");
    const tools = $("map-tools");
    const select = el("select", {id: "colour-select", "aria-label": "colour by", onchange: (e) => { MAP.colouring = +e.target.value; MAP.active = null; legend(); draw(); }});
    D.colourings.forEach((c, k) => select.append(el("option", {value: k, text: c.title})));
    const pics = el("input", {type: "checkbox", id: "pictures", checked: D.thumbs.length ? "checked" : null,
      onchange: (e) => { MAP.pictures = e.target.checked; draw(); }});
    MAP.pictures = D.thumbs.length > 0;
    tools.append(el("label", {}, "Colour by ", select),
      el("label", {title: `Draw thumbnails instead of dots when at most ${MAP.picturesMax} points are in view`}, pics, " pictures when zoomed in"),
      el("button", {type: "button", onclick: () => { fit(); draw(); }, text: "Fit all"}));
    $("map-note").textContent = `${int(n)} points shown of ${int(m.n_total)} items` +
      (D.thumbs.length ? ` · ${int(D.thumbs.length)} thumbnails embedded` : "");
    const frame = $("map-frame");
    new ResizeObserver(() => { resize(); draw(); }).observe(frame);
    resize(); fit(); legend(); draw(); interact();
  }

  function resize() {
    const c = MAP.canvas, r = c.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
    MAP.w = r.width; MAP.h = r.height; MAP.dpr = dpr;
    c.width = Math.max(1, Math.round(r.width * dpr)); c.height = Math.max(1, Math.round(r.height * dpr));
  }

  function fit() {
    const [x0, x1, y0, y1] = MAP.bounds, pad = 0.06;
    const legendW = Math.min(290, MAP.w * 0.3);
    const w = Math.max(50, MAP.w - legendW), h = MAP.h;
    MAP.s = Math.min(w / ((x1 - x0) || 1), h / ((y1 - y0) || 1)) * (1 - 2 * pad);
    MAP.tx = w / 2 - MAP.s * (x0 + x1) / 2;
    MAP.ty = h / 2 + MAP.s * (y0 + y1) / 2;  // data y grows upwards
  }
  const toScreen = (i) => [MAP.tx + MAP.s * MAP.x[i], MAP.ty - MAP.s * MAP.y[i]];

  function visible() {
    const out = [], X = MAP.x, Y = MAP.y, s = MAP.s, tx = MAP.tx, ty = MAP.ty;
    const x0 = (-40 - tx) / s, x1 = (MAP.w + 40 - tx) / s, y0 = (ty - MAP.h - 40) / s, y1 = (ty + 40) / s;
    for (let i = 0; i < X.length; i++) {
      if (X[i] > x0 && X[i] < x1 && Y[i] > y0 && Y[i] < y1) out.push(i);
    }
    return out;
  }

  function image(k) {
    if (MAP.images[k] === null) {
      const img = new Image();
      img.onload = () => scheduleDraw();
      img.src = D.thumbs[k];
      MAP.images[k] = img;
    }
    return MAP.images[k].complete && MAP.images[k].naturalWidth ? MAP.images[k] : null;
  }

  let pending = false;
  function scheduleDraw() { if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; draw(); }); } }

  function draw() {
    const ctx = MAP.ctx, dpr = MAP.dpr, c = D.colourings[MAP.colouring], idx = MAP.index[MAP.colouring];
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, MAP.w, MAP.h);
    const vis = visible();
    const r = Math.max(1.6, Math.min(5.5, 7 - Math.log10(Math.max(vis.length, 1))));
    const pictures = MAP.pictures && vis.length <= MAP.picturesMax;
    const inView = new Uint8Array(MAP.x.length);
    for (const i of vis) inView[i] = 1;
    const size = pictures ? thumbSize(vis) : 0;
    // Dots in CHUNKS slices of the shuffled order, one path per colour in each slice: one fill
    // per colour instead of one per point (20k points in a few ms), and no colour on top of all.
    const thumbs = [], K = c.colours.length, X = MAP.x, Y = MAP.y, s = MAP.s, tx = MAP.tx, ty = MAP.ty;
    const order = MAP.order, CHUNKS = 8, step = Math.ceil(order.length / CHUNKS), TAU = 2 * Math.PI;
    for (let from = 0; from < order.length; from += step) {
      const buckets = Array.from({length: K}, () => []);
      for (let j = from; j < Math.min(from + step, order.length); j++) {
        const i = order[j];
        if (!inView[i]) continue;
        if (pictures && D.points.thumb[i] >= 0 && (MAP.active === null || MAP.active === idx[i])) { thumbs.push(i); continue; }
        buckets[idx[i]].push(i);
      }
      for (let k = 0; k < K; k++) {
        const b = buckets[k];
        if (!b.length) continue;
        const off = MAP.active !== null && MAP.active !== k;
        ctx.beginPath();
        for (const i of b) {
          const px = tx + s * X[i], py = ty - s * Y[i];
          ctx.moveTo(px + r, py);
          ctx.arc(px, py, r, 0, TAU);
        }
        ctx.globalAlpha = off ? 0.12 : 0.9;
        ctx.fillStyle = c.colours[k];
        ctx.fill();
        if (r > 2.5 && !off) { ctx.globalAlpha = 0.5; ctx.strokeStyle = "#222"; ctx.lineWidth = 0.6; ctx.stroke(); }
      }
    }
    ctx.globalAlpha = 1;
    for (const i of thumbs) {
      const [px, py] = toScreen(i), img = image(D.points.thumb[i]);
      const k = idx[i];
      ctx.fillStyle = c.colours[k];
      if (!img) { ctx.beginPath(); ctx.arc(px, py, r + 1, 0, 2 * Math.PI); ctx.fill(); continue; }
      const sc = size / Math.max(img.naturalWidth, img.naturalHeight);
      const w = img.naturalWidth * sc, h = img.naturalHeight * sc;
      ctx.fillRect(px - w / 2 - 3, py - h / 2 - 3, w + 6, h + 6);  // the frame: the point's colour
      ctx.drawImage(img, px - w / 2, py - h / 2, w, h);
    }
    MAP.drawnThumbs = thumbs.length;
    if (MAP.hovered >= 0 && inView[MAP.hovered]) {
      const [px, py] = toScreen(MAP.hovered);
      ctx.lineWidth = 2.5; ctx.strokeStyle = "#111"; ctx.globalAlpha = 1;
      ctx.beginPath(); ctx.arc(px, py, Math.max(r, pictures ? size / 2 : r) + 4, 0, 2 * Math.PI); ctx.stroke();
    }
  }

  // Thumbnails as big as the points' spread allows: the area they cover on screen, shared out.
  function thumbSize(vis) {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const i of vis) {
      const [px, py] = toScreen(i);
      x0 = Math.min(x0, px); x1 = Math.max(x1, px); y0 = Math.min(y0, py); y1 = Math.max(y1, py);
    }
    const w = Math.min(MAP.w, x1 - x0) + 60, h = Math.min(MAP.h, y1 - y0) + 60;
    return Math.max(24, Math.min(88, 0.9 * Math.sqrt(w * h / Math.max(vis.length, 1))));
  }

  function legend() {
    const c = D.colourings[MAP.colouring], box = $("legend");
    box.replaceChildren(el("div", {cls: "title", text: c.title}));
    if (c.note) box.append(el("div", {cls: "note", text: c.note}));
    c.labels.forEach((label, k) => {
      if (!c.counts[k]) return;
      const entry = el("div", {cls: "entry" + (MAP.active !== null && MAP.active !== k ? " off" : ""), role: "button",
        title: "Pick out these points (click again to show all)",
        onclick: () => { MAP.active = MAP.active === k ? null : k; legend(); draw(); }},
        el("span", {cls: "swatch", style: `background:${c.colours[k]}`}), el("span", {text: label}),
        el("span", {cls: "count", text: int(c.counts[k])}));
      box.append(entry);
    });
  }

  function nearest(mx, my, reach) {
    let best = -1, bd = reach * reach;
    const vis = visible(), pictures = MAP.pictures && vis.length <= MAP.picturesMax;
    if (pictures) bd = Math.max(bd, 900);
    for (const i of vis) {
      const dx = MAP.tx + MAP.s * MAP.x[i] - mx, dy = MAP.ty - MAP.s * MAP.y[i] - my, d = dx * dx + dy * dy;
      if (d < bd) { bd = d; best = i; }
    }
    return best;
  }

  function card(i, mx, my) {
    const box = $("card");
    if (i < 0) { box.hidden = true; return; }
    const t = D.points.thumb[i];
    const kids = [];
    if (t >= 0) kids.push(el("img", {src: D.thumbs[t], alt: ""}));
    kids.push(el("div", {cls: "id", text: D.points.ids[i]}));
    if (D.points.captions[i]) kids.push(el("div", {cls: "cap", text: D.points.captions[i]}));
    D.colourings.forEach((c, k) => kids.push(el("div", {cls: "kv", text: `${c.title}: ${c.labels[MAP.index[k][i]]}`})));
    box.replaceChildren(...kids);
    box.hidden = false;
    const fw = $("map-frame").clientWidth, fh = $("map-frame").clientHeight;
    const left = mx + 16 + 250 > fw ? mx - 16 - 250 : mx + 16;
    box.style.left = Math.max(4, left) + "px";
    box.style.top = Math.max(4, Math.min(my + 12, fh - box.offsetHeight - 4)) + "px";
  }

  function interact() {
    const c = MAP.canvas;
    let drag = null;
    const pos = (e) => { const r = c.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
    c.addEventListener("mousedown", (e) => { drag = [e.clientX, e.clientY]; c.classList.add("dragging"); });
    window.addEventListener("mouseup", () => { drag = null; c.classList.remove("dragging"); });
    c.addEventListener("mousemove", (e) => {
      const [mx, my] = pos(e);
      if (drag) {
        MAP.tx += e.clientX - drag[0]; MAP.ty += e.clientY - drag[1]; drag = [e.clientX, e.clientY];
        card(-1); scheduleDraw(); return;
      }
      const i = nearest(mx, my, 12);
      if (i !== MAP.hovered) { MAP.hovered = i; scheduleDraw(); }
      card(i, mx, my);
    });
    c.addEventListener("mouseleave", () => { MAP.hovered = -1; card(-1); scheduleDraw(); });
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      const [mx, my] = pos(e), f = Math.exp(-e.deltaY * 0.0015);
      MAP.tx = mx - (mx - MAP.tx) * f; MAP.ty = my - (my - MAP.ty) * f; MAP.s *= f;
      card(-1); scheduleDraw();
    }, {passive: false});
    c.addEventListener("dblclick", () => { fit(); draw(); });
    c.addEventListener("keydown", (e) => {
      const f = {"+": 1.25, "=": 1.25, "-": 0.8}[e.key];
      if (f) { const mx = MAP.w / 2, my = MAP.h / 2; MAP.tx = mx - (mx - MAP.tx) * f; MAP.ty = my - (my - MAP.ty) * f; MAP.s *= f; draw(); }
      if (e.key === "0") { fit(); draw(); }
    });
  }

  // -- metrics ----------------------------------------------------------------------------------
  const COLS = [["R@1", "recall@1"], ["R@5", "recall@5"], ["R@10", "recall@10"], ["MRR", "mrr"],
    ["median rank", "median_rank", 1], ["chance R@1", "chance_recall@1", 0, "chance"],
    ["chance R@5", "chance_recall@5", 0, "chance"], ["chance R@10", "chance_recall@10", 0, "chance"],
    ["label P@1", "label_precision@1"], ["label P@5", "label_precision@5"],
    ["chance label P", "chance_label_precision", 0, "chance"]];
  const BARS = ["#1f77b4", "#ff7f0e", "#2ca02c"];

  function renderMetrics() {
    const m = D.metrics || {}, pairs = m.pairs || [];
    if (!pairs.length) { $("metrics").append(el("p", {cls: "note", text: "No modality pair has enough paired items to measure."})); return; }
    const cols = COLS.filter(([, key]) => pairs.some((p) => p[key] !== undefined && p[key] !== null));
    const table = el("table", {cls: "grid", id: "metrics-table"},
      el("tr", {}, el("th", {text: "pair"}), el("th", {text: "method"}), el("th", {text: "n test"}),
        ...cols.map(([title]) => el("th", {text: title}))));
    for (const p of pairs) {
      const row = el("tr", {}, el("td", {text: `${p.query} → ${p.target}`}), el("td", {cls: "left", text: p.method}));
      if (p.error) row.append(el("td", {cls: "err", colspan: cols.length + 1, text: "error: " + p.error}));
      else {
        row.append(el("td", {text: int(p.n_test)}));
        for (const [, key, whole, cls] of cols) row.append(el("td", {cls, text: whole ? fmt(p[key], 1) : fmt(p[key])}));
      }
      table.append(row);
    }
    $("metrics").append(table);
    chart(pairs.filter((p) => !p.error));
    fusion(m.fusion);
  }

  function chart(pairs) {
    if (!pairs.length) return;
    const ns = "http://www.w3.org/2000/svg", group = 4, bw = 24, W = Math.max(420, 60 + pairs.length * group * bw + 20), H = 250;
    const top = 16, bottom = 40, left = 44, plotH = H - top - bottom;
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`); svg.setAttribute("width", W); svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "recall at 1, 5 and 10 per modality pair, with chance levels");
    const add = (tag, attrs, text) => { const e = document.createElementNS(ns, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); if (text !== undefined) e.textContent = text; svg.append(e); return e; };
    const y = (v) => top + plotH * (1 - v);
    for (const v of [0, 0.25, 0.5, 0.75, 1]) {
      add("line", {x1: left, x2: W - 10, y1: y(v), y2: y(v), class: "gridline"});
      add("text", {x: left - 6, y: y(v) + 4, "text-anchor": "end"}, v.toFixed(2));
    }
    pairs.forEach((p, i) => {
      [1, 5, 10].forEach((k, j) => {
        const x = left + 10 + (i * group + j) * bw, v = p[`recall@${k}`] || 0, ch = p[`chance_recall@${k}`] || 0;
        add("rect", {x, y: y(v), width: bw - 3, height: plotH * v, fill: BARS[j]}).append(
          Object.assign(document.createElementNS(ns, "title"), {textContent: `${p.query}→${p.target} R@${k} ${fmt(v)} (chance ${fmt(ch)})`}));
        add("rect", {x, y: y(ch), width: bw - 3, height: Math.max(plotH * ch, 0.5), fill: "none", stroke: "#333", "stroke-dasharray": "3 2", "stroke-width": 1.2});
      });
      add("text", {x: left + 10 + (i * group + 1.5) * bw, y: H - bottom + 16, "text-anchor": "middle"}, `${p.query}→${p.target}`);
    });
    add("line", {x1: left, x2: W - 10, y1: y(0), y2: y(0), class: "axis"});
    const lx = left + 4;
    ["R@1", "R@5", "R@10"].forEach((t, j) => { add("rect", {x: lx + j * 70, y: H - 16, width: 12, height: 10, fill: BARS[j]}); add("text", {x: lx + j * 70 + 16, y: H - 7}, t); });
    add("rect", {x: lx + 210, y: H - 16, width: 12, height: 10, fill: "none", stroke: "#333", "stroke-dasharray": "3 2"});
    add("text", {x: lx + 226, y: H - 7}, "chance");
    $("chart").append(svg);
  }

  function fusion(f) {
    if (!f) return;
    if (f.error) { $("fusion").append(el("p", {cls: "note", text: "Fusion: " + f.error})); return; }
    const ks = f.k || [1, 5, 10], rows = Object.entries(f.single || {});
    const w = Object.entries(f.weights || {}).map(([m, v]) => `${m} ${v}`).join(" · ");
    const table = el("table", {cls: "grid", id: "fusion-table"}, el("tr", {}, el("th", {text: "similar items by"}), ...ks.map((k) => el("th", {text: `label P@${k}`}))));
    for (const [name, fig] of [...rows, [`fused (${w})`, f.fused || {}]]) {
      table.append(el("tr", {cls: name.startsWith("fused") ? "best" : null}, el("td", {text: name}), ...ks.map((k) => el("td", {text: fmt(fig[`label_precision@${k}`])}))));
    }
    table.append(el("tr", {}, el("td", {cls: "chance", text: "chance"}), ...ks.map(() => el("td", {cls: "chance", text: fmt(f.chance_label_precision)}))));
    $("fusion").append(el("h3", {text: `Fusion: do similar items share the '${f.label_column}' label?`}),
      el("p", {cls: "note", text: `${int(f.n_queries)} queries among ${int(f.n_candidates)} labelled items; the same queries for every row.`}), table);
  }

  // -- suspects and sample items ------------------------------------------------------------
  function thumbOrPlaceholder(item, text) {
    return item.thumb >= 0 ? el("img", {src: D.thumbs[item.thumb], alt: item.id, loading: "lazy"}) : el("div", {cls: "ph", text});
  }

  function renderSuspects() {
    if (!D.suspects) return;
    $("suspects-section").hidden = false;
    if (!D.suspects.length) { $("suspects").append(el("p", {cls: "note", text: "No item was flagged."})); return; }
    const table = el("table", {cls: "grid", id: "suspects-table"}, el("tr", {}, ...["#", "", "item", "score", "odd one out", "pairs"].map((t) => el("th", {text: t}))));
    D.suspects.forEach((s, i) => {
      const pairs = Object.entries(s.pairs || {}).map(([p, v]) => `${p} ${fmt(v)}`).join(" · ");
      table.append(el("tr", {}, el("td", {text: i + 1}), el("td", {}, s.thumb >= 0 ? el("img", {src: D.thumbs[s.thumb], width: 40, alt: ""}) : ""),
        el("td", {cls: "left"}, el("b", {text: s.id}), el("br"), el("span", {cls: "note", text: s.caption || ""})),
        el("td", {text: fmt(s.score)}), el("td", {cls: "left", text: s.modality || "–"}), el("td", {cls: "left", text: pairs})));
    });
    $("suspects").append(table);
  }

  function matchView(list, m, i) {
    const tip = `${m.id} · score ${fmt(m.score)}${m.partner ? " · its own " + list.target : ""}${m.caption ? "\n" + m.caption : ""}`;
    if (list.target === "image") {
      return el("div", {cls: "match" + (m.partner ? " partner" : ""), title: tip},
        thumbOrPlaceholder(m, "no image"), el("span", {cls: "rank", text: i + 1}), el("div", {cls: "mid", text: m.id}));
    }
    const body = list.target === "text" ? (m.caption || m.id) : `♪ ${m.audio || m.id}`;
    return el("div", {cls: "chip" + (m.partner ? " partner" : ""), title: tip}, el("b", {text: `#${i + 1}`}), body);
  }

  function renderSamples() {
    const box = el("div", {cls: "samples"});
    for (const s of D.samples) {
      const who = el("div", {cls: "who"}, s.thumb >= 0 ? el("img", {src: D.thumbs[s.thumb], alt: s.id}) : null,
        el("div", {}, el("h3", {text: s.id}), s.caption ? el("div", {cls: "cap", text: s.caption}) : null,
          el("div", {cls: "note", text: "has " + s.has.join(", ") + (s.audio ? ` · audio ${s.audio}` : "")})));
      const card = el("div", {cls: "sample"}, who);
      for (const list of s.lists) {
        const rank = list.partner_rank ? `its own ${list.target} ranks #${list.partner_rank}` : "";
        const badge = list.partner_rank ? el("span", {cls: "badge " + (list.partner_rank === 1 ? "good" : list.partner_rank > 10 ? "bad" : ""), text: "#" + list.partner_rank}) : null;
        card.append(el("div", {cls: "list"},
          el("div", {cls: "lhead"}, `${list.query} → ${list.target} · ${list.method}${list.in_training ? " · pair used for fitting" : ""} `, badge, rank ? ` ${rank}` : "", list.note ? ` · ${list.note}` : ""),
          el("div", {cls: "strip"}, ...list.matches.map((m, i) => matchView(list, m, i)))));
      }
      box.append(card);
    }
    $("samples").append(box);
  }

  renderHeader();
  setupMap();
  renderMetrics();
  renderSuspects();
  renderSamples();
  window.mmReport = {
    ready: true,
    nPoints: D.map.n_points,
    screenOf: (i) => { const r = MAP.canvas.getBoundingClientRect(), [px, py] = toScreen(i); return [r.left + px, r.top + py]; },
    hovered: () => (MAP.hovered >= 0 ? D.points.ids[MAP.hovered] : null),
    cardText: () => ($("card").hidden ? "" : $("card").textContent),
    drawnThumbs: () => MAP.drawnThumbs,
    zoom: (f) => { const mx = MAP.w / 2, my = MAP.h / 2; MAP.tx = mx - (mx - MAP.tx) * f; MAP.ty = my - (my - MAP.ty) * f; MAP.s *= f; draw(); },
    fit: () => { fit(); draw(); },
  };
})();
