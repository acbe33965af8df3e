// coverage-collector report: one script for the index and the binary pages.
// Every string from the cluster is inserted with textContent; only the annotated source
// lines (escaped by the generator) are inserted as HTML.
"use strict";

const data = JSON.parse(document.getElementById("cc-data").textContent);
const $ = (selector) => document.querySelector(selector);

function level(percent) {
  if (percent >= 70) return "excellent";
  if (percent >= 50) return "good";
  if (percent >= 30) return "moderate";
  if (percent >= 15) return "poor";
  return "critical";
}

const LEVELS = ["excellent", "good", "moderate", "poor", "critical"];

// Percentages follow results.py's rule: 100 * covered / statements as a double, shown
// rounded to the nearest, ties to even, as Python's round() and format() and Go's %.1f do
// (toFixed alone rounds an exact tie up: 1 of 16 statements is 6.25%, shown "6.2%").
function fixed(value, digits) {
  const text = value.toFixed(digits);
  const scaled = value * 2 ** (digits + 1); // an odd integer exactly when `value` is a tie
  if (!Number.isInteger(scaled) || scaled % 2 === 0) return text;
  const down = Math.trunc(value * 10 ** digits); // exact on a tie
  return down % 2 === 0 ? (down / 10 ** digits).toFixed(digits) : text;
}

// The percent the page data carries (one decimal, as report/model.py's percent()).
function percentOf(covered, statements) {
  return statements ? Number(fixed(100 * covered / statements, 1)) : 0;
}

function percentText(percent) {
  return fixed(percent, 1) + "%";
}

// With a baseline (render --baseline): each row has base/delta/deltaText/direction/changed
// and `diff`, its statements per category; source lines have a category letter each.
const baseline = data.baseline || null;
const LINE_CATEGORIES = {
  l: ["lost", "lost"], n: ["newly-covered", "newly covered"], u: ["new-uncovered", "new code, not covered"],
  c: ["new-covered", "new code, covered"], v: ["never-covered", "never covered"], s: ["still-covered", "still covered"],
};

function changeText(d) {
  if (!d) return "not in the comparison";
  return "newly covered " + d.newly + ", lost " + d.lost + ", still covered " + d.still +
    ", never covered " + d.never + ", new code " + d.newCovered + "/" + d.newCode +
    " covered, removed " + d.removed + " (statements)";
}

// The change in points, signed and coloured, its categories as a tooltip.
function deltaCell(item) {
  const td = cell(item.deltaText, "num delta" + (item.direction ? " " + item.direction : ""));
  td.title = changeText(item.diff);
  return td;
}

// A multi-select with its own search box: `root` gets a button and a panel of checkboxes.
// Returns the live set of chosen values (empty: no filter).
function multiSelect(root, label, values, onChange) {
  const chosen = new Set();
  const button = document.createElement("button");
  button.type = "button";
  const panel = document.createElement("div");
  panel.className = "panel";
  panel.hidden = true;
  const search = document.createElement("input");
  search.type = "search";
  search.placeholder = "Filter " + label.toLowerCase();
  panel.append(search);
  const unique = [...new Set(values)];
  if (label !== "Coverage levels") unique.sort();
  for (const value of unique) {
    const option = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = value;
    box.addEventListener("change", () => {
      if (box.checked) chosen.add(value); else chosen.delete(value);
      caption();
      onChange();
    });
    option.append(box, document.createTextNode(" " + (value || "(host)")));
    panel.append(option);
  }
  const caption = () => { button.textContent = label + (chosen.size ? " (" + chosen.size + ")" : ": all") + " \u25BE"; };
  search.addEventListener("input", () => {
    const query = search.value.toLowerCase();
    for (const option of panel.querySelectorAll("label")) option.hidden = !option.textContent.toLowerCase().includes(query);
  });
  button.addEventListener("click", () => { panel.hidden = !panel.hidden; if (!panel.hidden) search.focus(); });
  document.addEventListener("click", (event) => { if (!root.contains(event.target)) panel.hidden = true; });
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") panel.hidden = true; });
  caption();
  root.append(button, panel);
  return chosen;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function coverageCell(percent) {
  const td = cell("", "num cov " + level(percent));
  const bar = document.createElement("span");
  bar.className = "bar";
  bar.style.width = Math.max(0, Math.min(100, percent)) + "%";
  const label = document.createElement("span");
  label.textContent = percentText(percent);
  td.append(bar, label);
  return td;
}

function compare(key, direction) {
  return (a, b) => {
    let x = a[key], y = b[key];
    if (Array.isArray(x)) { x = x.length; y = y.length; }
    if (typeof x === "string") return direction * x.localeCompare(y);
    return direction * (x - y);
  };
}

// Sortable headers: click a column to sort, again to reverse.
function sortable(table, state, rerender) {
  for (const th of table.querySelectorAll("th[data-key]")) {
    th.addEventListener("click", () => {
      state.direction = state.key === th.dataset.key ? -state.direction : 1;
      state.key = th.dataset.key;
      for (const other of table.querySelectorAll("th")) other.removeAttribute("aria-sort");
      th.setAttribute("aria-sort", state.direction > 0 ? "ascending" : "descending");
      rerender();
    });
  }
}

// Tabs: a button per view; `onShow` runs when a view is shown (e.g. to load its data).
function tabs(onShow) {
  for (const button of document.querySelectorAll("nav.tabs button")) {
    button.addEventListener("click", () => showTab(button.dataset.tab, onShow));
  }
}

function showTab(name, onShow) {
  for (const button of document.querySelectorAll("nav.tabs button")) {
    button.classList.toggle("active", button.dataset.tab === name);
  }
  for (const view of document.querySelectorAll("[data-view]")) view.hidden = view.dataset.view !== name;
  if (onShow) onShow(name);
}

function simpleTable(table, items, columns, state) {
  const render = () => {
    const body = document.createDocumentFragment();
    for (const item of [...items].sort(compare(state.key, state.direction))) {
      const tr = document.createElement("tr");
      tr.className = "row";
      tr.append(...columns.map((column) => column(item)));
      body.append(tr);
    }
    table.querySelector("tbody").replaceChildren(body);
  };
  sortable(table, state, render);
  render();
}

function focusSearchOnSlash() {
  document.addEventListener("keydown", (event) => {
    if (event.key === "/" && document.activeElement.tagName !== "INPUT") {
      event.preventDefault();
      $("#search").focus();
    }
  });
}

// ---------------------------------------------------------------------------- index

function initIndex() {
  const state = { key: "namespace", direction: 1, open: new Set() };
  const owners = data.owners;
  const sourceOf = (o) => data.binaries[o.binaryId].source || "(none)";
  const filters = {
    namespace: multiSelect($("#filter-namespace"), "Namespaces", owners.map((o) => o.namespace), () => render()),
    type: multiSelect($("#filter-type"), "Owner types", owners.map((o) => o.type), () => render()),
    level: multiSelect($("#filter-level"), "Coverage levels", LEVELS, () => render()),
    source: multiSelect($("#filter-source"), "Source repositories", owners.map(sourceOf), () => render()),
  };
  const visible = () => {
    const query = $("#search").value.trim().toLowerCase();
    const hideTests = $("#hide-tests").checked, hideTestBinaries = $("#hide-test-binaries").checked;
    const changedOnly = baseline !== null && $("#changed-only").checked;
    const allows = (set, value) => !set.size || set.has(value);
    return owners.filter((o) =>
      (!hideTests || !o.testNamespace) && (!hideTestBinaries || !o.testBinary) &&
      (!changedOnly || o.changed) &&
      allows(filters.namespace, o.namespace) &&
      allows(filters.type, o.type) && allows(filters.level, level(o.percent)) &&
      allows(filters.source, sourceOf(o)) &&
      (!query || searchText(o).includes(query)));
  };
  const render = () => {
    const rows = visible().sort(compare(state.key, state.direction));
    const body = document.createDocumentFragment();
    for (const o of rows) body.append(...ownerRows(o, state));
    $("#owners tbody").replaceChildren(body);
    updateStats(rows);
  };
  for (const id of ["#search", "#hide-tests", "#hide-test-binaries"]) $(id).addEventListener("input", render);
  if (baseline) $("#changed-only").addEventListener("input", render);
  $("#owners tbody").addEventListener("click", (event) => {
    const row = event.target.closest("tr.row");
    if (!row || event.target.closest("a")) return;
    const id = Number(row.dataset.id);
    if (state.open.has(id)) state.open.delete(id); else state.open.add(id);
    render();
  });
  sortable($("#owners"), state, render);
  focusSearchOnSlash();
  render();
  tabs();
  const ownersOf = {};
  for (const o of owners) (ownersOf[o.binaryId] = ownersOf[o.binaryId] || []).push((o.namespace ? o.namespace + "/" : "") + o.owner);
  const binaries = Object.entries(data.binaries).map(([id, b]) => ({ ...b, owners: (ownersOf[id] || []).sort() }));
  simpleTable($("#binaries"), binaries, [
    (b) => { const td = cell(""), a = document.createElement("a"); a.href = b.page; a.textContent = b.name; td.append(a); return td; },
    (b) => cell(b.hash.slice(0, 12), "hash"), (b) => cell(b.owners.join(", ")),
    (b) => coverageCell(b.percent), (b) => cell(String(b.statements), "num"),
    (b) => cell(String(b.covered), "num"), (b) => cell(b.confidence),
  ], { key: "name", direction: 1 });
  simpleTable($("#namespaces"), data.namespaces, [
    (n) => cell(n.namespace), (n) => cell(String(n.binaries), "num"), (n) => cell(String(n.entries), "num"),
    (n) => coverageCell(n.percent), (n) => cell(String(n.statements), "num"), (n) => cell(String(n.covered), "num"),
  ], { key: "namespace", direction: 1 });
}

// What the search box looks in, lower-cased once per owner.
function searchText(o) {
  if (o.searchText === undefined) {
    o.searchText = [o.namespace, o.owner, o.binary, ...o.containers].join("\n").toLowerCase();
  }
  return o.searchText;
}

// Rows are built once and re-used: filtering and sorting only re-attach them.
const rowCache = new Map();

function ownerRows(o, state) {
  const binary = data.binaries[o.binaryId];
  let tr = rowCache.get(o.id);
  if (!tr) rowCache.set(o.id, tr = ownerRow(o, binary));
  tr.classList.toggle("open", state.open.has(o.id));
  return state.open.has(o.id) ? [tr, ownerDetail(o, binary)] : [tr];
}

function ownerRow(o, binary) {
  const tr = document.createElement("tr");
  tr.className = "row" + (o.errors ? " has-errors" : "") + (binary.confidence === "none" ? " no-source" : "");
  tr.dataset.id = o.id;
  const name = cell(o.owner);
  if (o.errors) name.append(badge(o.errors + " errors", "bad"));
  if (binary.confidence === "none") name.append(badge("no source", "warn"));
  const link = document.createElement("a");
  link.href = binary.page;
  link.textContent = o.binary;
  const binaryCell = cell("");
  binaryCell.append(link);
  tr.append(cell(o.namespace || "(host)"), cell(o.type), name, binaryCell,
    cell(String(o.pods.length), "num"), coverageCell(o.percent));
  if (baseline) {
    tr.append(cell(o.baseText, "num base"), deltaCell(o));
    if (o.changed) tr.classList.add("changed");
  }
  tr.append(cell(String(o.statements), "num"), cell(String(o.covered), "num"));
  return tr;
}

function ownerDetail(o, binary) {
  const detail = document.createElement("tr");
  detail.className = "detail";
  const td = document.createElement("td");
  td.colSpan = document.querySelectorAll("#owners thead th").length;
  const list = document.createElement("dl");
  const facts = [
    ["Pods", o.pods.join(", ")], ["Hosts", o.hosts.join(", ")],
    ["Containers", o.containers.join(", ")], ["Images", o.images.join(", ")],
    ["Source", binary.source ? binary.source + " @ " + binary.commit.slice(0, 12) : "none"],
    ["First seen", o.firstSeen], ["Last seen", o.lastSeen],
    ["Binary", binary.hash], ["Instances", String(o.instances)],
  ];
  if (baseline) {
    const d = o.diff;
    facts.push(["Since " + baseline.name, !d ? "not in the comparison"
      : (o.base === null ? "new owner (not in the baseline)" : o.baseText + " \u2192 " + percentText(o.percent) + " (" + o.deltaText + " points)") +
        (d.rebuilt ? ", rebuilt" : "") + (o.changed ? "" : ", unchanged")]);
    if (d) {
      facts.push(["Newly covered", String(d.newly)], ["Lost", String(d.lost)],
        ["New code covered", d.newCovered + " of " + d.newCode], ["Removed code", String(d.removed)],
        ["Still / never covered", d.still + " / " + d.never]);
    }
  }
  for (const [term, value] of facts) {
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = term;
    dd.textContent = value;
    list.append(dt, dd);
  }
  td.append(list);
  detail.append(td);
  return detail;
}

function badge(text, kind) {
  const span = document.createElement("span");
  span.className = "badge " + kind;
  span.textContent = text;
  return span;
}

function updateStats(rows) {
  const binaries = new Set(rows.map((o) => o.binaryId));
  let statements = 0, covered = 0;
  for (const id of binaries) {
    statements += data.binaries[id].statements;
    covered += data.binaries[id].covered;
  }
  $("#stat-owners").textContent = rows.length;
  $("#stat-binaries").textContent = binaries.size;
  $("#stat-statements").textContent = statements;
  $("#stat-coverage").textContent = statements ? percentText(100 * covered / statements) : "-";
  $("#shown").textContent = rows.length + " of " + data.owners.length + " owners shown";
}

// ---------------------------------------------------------------------------- binary

const loaded = {}, sources = {};
let pending = null;
window.ccFiles = (payloads) => {
  for (const payload of payloads) loaded[payload.id] = payload;
  if (pending) pending();
};
// A highlighted source arrives in one or more chunks: [digest, index, count, first, lines].
const chunks = {};
window.ccSource = ([digest, index, count, , lines]) => {
  const parts = chunks[digest] = chunks[digest] || { count, lines: [] };
  parts.lines[index] = lines;
  if (index === 0) for (let i = 1; i < count; i++) loadScript("../data/src/" + digest + "-" + i + ".js");
  if (parts.lines.filter(Boolean).length === count) sources[digest] = parts.lines.flat();
  if (pending) pending();
};

function loadScript(src) {
  const script = document.createElement("script");
  script.src = src;
  script.addEventListener("error", () => {
    const viewer = $("#viewer");
    if (!viewer) return;
    const problem = document.createElement("p");
    problem.className = "no-source-reason";
    problem.textContent = "Could not load " + src + " (the report is incomplete: render it again).";
    viewer.append(problem);
  });
  document.head.append(script);
}

function initBinary() {
  const state = { key: "path", direction: 1, current: null };
  const files = data.files;
  const render = () => {
    const query = $("#search").value.trim().toLowerCase();
    const changedOnly = baseline !== null && $("#changed-only").checked;
    const rows = files.filter((f) => (!query || f.path.toLowerCase().includes(query)) &&
      (!levels.size || levels.has(level(f.percent))) && (!changedOnly || f.changed)).sort(compare(state.key, state.direction));
    state.order = rows;
    const body = document.createDocumentFragment();
    for (const f of rows) {
      const tr = document.createElement("tr");
      tr.className = "row" + (f.status === "resolved" ? "" : " no-source") + (state.current === f.id ? " open" : "");
      tr.dataset.id = f.id;
      tr.append(cell(f.path), coverageCell(f.percent));
      if (baseline) tr.append(deltaCell(f));
      tr.append(cell(String(f.statements), "num"), cell(String(f.covered), "num"));
      body.append(tr);
    }
    $("#files tbody").replaceChildren(body);
    $("#shown").textContent = rows.length + " of " + files.length + " files shown";
  };
  const levels = multiSelect($("#filter-level"), "Coverage levels", LEVELS, () => render());
  $("#search").addEventListener("input", render);
  if (baseline) $("#changed-only").addEventListener("input", render);
  for (const button of document.querySelectorAll("#views button")) {
    button.addEventListener("click", () => {
      $(".split").dataset.layout = button.dataset.layout;
      for (const other of document.querySelectorAll("#views button")) other.classList.toggle("active", other === button);
    });
  }
  $("#files tbody").addEventListener("click", (event) => {
    const row = event.target.closest("tr.row");
    if (row) { state.current = Number(row.dataset.id); openFile(files.find((f) => f.id === state.current)); render(); }
  });
  sortable($("#files"), state, render);
  focusSearchOnSlash();
  document.addEventListener("keydown", (event) => {
    if (document.activeElement.tagName === "INPUT") return;
    if (event.key === "j" || event.key === "k") {
      // with a baseline: newly covered and lost blocks; without: uncovered lines
      if (baseline && baseline.lines) jumpChanges(event.key === "j" ? 1 : -1);
      else jumpUncovered(event.key === "j" ? 1 : -1);
    }
    if (event.key === "[" || event.key === "]") {
      const order = state.order || [];
      const index = order.findIndex((f) => f.id === state.current);
      const next = order[index < 0 ? 0 : (index + (event.key === "]" ? 1 : -1) + order.length) % order.length];
      if (next) open(next);
    }
  });
  render();
  const open = (file, line) => { state.current = file.id; openFile(file, line); render(); };
  buildTree($("#tree"), files, open);
  tabs((name) => { if (name === "functions") loadFunctions(files, open); });
  const target = parseHash(files);
  if (target.file) { state.current = target.file.id; openFile(target.file, target.line); render(); }
}

// The package tree: directories with coverage rolled up from their files.
function buildTree(container, files, open) {
  const root = { dirs: new Map(), files: [], statements: 0, covered: 0 };
  for (const f of files) {
    let node = root;
    node.statements += f.statements; node.covered += f.covered;
    const parts = f.path.split("/");
    for (const part of parts.slice(0, -1)) {
      if (!node.dirs.has(part)) node.dirs.set(part, { dirs: new Map(), files: [], statements: 0, covered: 0 });
      node = node.dirs.get(part);
      node.statements += f.statements; node.covered += f.covered;
    }
    node.files.push(f);
  }
  const render = (node, name) => {
    const details = document.createElement("details");
    details.open = true;
    const summary = document.createElement("summary");
    const pct = percentOf(node.covered, node.statements);
    summary.className = "cov " + level(pct);
    summary.textContent = name + "  " + percentText(pct) + " (" + node.covered + "/" + node.statements + ")";
    details.append(summary);
    for (const [child, sub] of [...node.dirs].sort()) details.append(render(sub, child + "/"));
    for (const f of node.files) {
      const leaf = document.createElement("div");
      leaf.className = "leaf cov " + level(f.percent);
      leaf.textContent = f.path.split("/").pop() + "  " + percentText(f.percent);
      leaf.addEventListener("click", () => open(f));
      details.append(leaf);
    }
    return details;
  };
  container.replaceChildren(render(root, "(all files)"));
}

// Functions load on demand from data/<hash>/functions.js.
function loadFunctions(files, open) {
  if (window.ccFunctionsLoaded) return;
  window.ccFunctionsLoaded = true;
  const byId = new Map(files.map((f) => [f.id, f]));
  window.ccFunctions = (rows) => {
    const items = rows.map((r) => [...r, percentOf(r[4], r[3])]);
    const state = { key: "1", direction: 1 };
    const render = () => {
      const never = $("#never-executed").checked;
      const body = document.createDocumentFragment();
      for (const r of items.filter((r) => !never || r[5] === 0).sort(compare(state.key, state.direction))) {
        const tr = document.createElement("tr");
        tr.className = "row";
        const file = byId.get(r[1]);
        tr.append(cell(r[0]), cell((file ? file.path.split("/").pop() : "?") + ":" + r[2]),
          cell(String(r[3]), "num"), coverageCell(r[6]), cell(String(r[5]), "num"));
        tr.addEventListener("click", () => file && open(file, r[2]));
        body.append(tr);
      }
      $("#functions tbody").replaceChildren(body);
    };
    $("#never-executed").addEventListener("input", render);
    sortable($("#functions"), state, render);
    render();
  };
  const script = document.createElement("script");
  script.src = "../data/" + data.binary.hash + "/functions.js";
  document.head.append(script);
}

function parseHash(files) {
  const hash = decodeURIComponent(location.hash.slice(1));
  const old = /^file(\d+)$/.exec(hash);
  if (old) return { file: files[Number(old[1])], line: 0 };
  const params = new URLSearchParams(location.hash.slice(1));
  const file = files.find((f) => f.path === params.get("file"));
  return { file, line: Number(params.get("line") || 0) };
}

function openFile(file, line) {
  const viewer = $("#viewer");
  const heading = document.createElement("h2");
  heading.textContent = file.path;
  const stats = document.createElement("p");
  stats.className = "meta";
  stats.textContent = file.covered + " of " + file.statements + " statements covered (" + percentText(file.percent) + ")";
  history.replaceState(null, "", "#file=" + encodeURIComponent(file.path) + (line ? "&line=" + line : ""));
  if (file.status !== "resolved") {
    const why = document.createElement("p");
    why.className = "no-source-reason";
    why.textContent = file.reason
      ? "Source not shown: the file was refused (" + file.reason + "): the tool reads only regular files inside their checkout, up to 8 MiB."
      : file.status === "missing"
      ? "Source not shown: the file is not in the checkout of " + (data.binary.source || "its repository") + " (generated at build time?)."
      : "Source not shown: no repository was found for this file. " + (data.binary.notes || "");
    viewer.replaceChildren(heading, stats, why);
    return;
  }
  const show = (payload) => {
    viewer.replaceChildren(heading, stats, sourceTable(payload, sources[payload.src]));
    if (line) {
      const row = document.getElementById("L" + line);
      if (row) { row.classList.add("target"); row.scrollIntoView({ block: "center" }); }
    }
  };
  // A file's coverage and its highlighted source are two scripts; show when both are in.
  pending = () => {
    const payload = loaded[file.id];
    if (!payload) return;
    if (!sources[payload.src]) {
      if (!chunks[payload.src]) loadScript("../data/src/" + payload.src + ".js");
      return;
    }
    pending = null;
    show(payload);
  };
  if (loaded[file.id]) pending(); else loadScript("../data/" + data.binary.hash + "/g" + file.group + ".js");
}

function sourceTable(payload, lines) {
  const table = document.createElement("table");
  table.className = "source src";
  const body = document.createElement("tbody");
  const setMode = data.binary.mode === "set";
  const spans = {};
  for (const [line, start, end, count] of payload.spans) (spans[line] = spans[line] || []).push([start, end, count]);
  lines.forEach((html, index) => {
    const count = payload.counts[index] ?? -1;
    const tr = document.createElement("tr");
    tr.id = "L" + (index + 1);
    tr.className = count < 0 ? "untracked" : count > 0 ? "hit" : "miss";
    const number = cell(String(index + 1), "line-num");
    const category = payload.cats ? LINE_CATEGORIES[payload.cats[index]] : undefined;
    if (category) {
      tr.classList.add("delta-" + category[0]);
      tr.dataset.delta = payload.cats[index];
      number.title = category[1];
    }
    const executions = cell(count < 0 ? "" : setMode ? (count > 0 ? "hit" : "miss") : String(count), "exec");
    const code = document.createElement("td");
    code.className = "code";
    code.innerHTML = html;  // produced and escaped by the report generator
    if (spans[index]) wrapRanges(code, spans[index]);
    tr.append(number, executions, code);
    body.append(tr);
  });
  table.append(body);
  return table;
}

// Wrap the character ranges [start, end) of a line in coverage spans, splitting the
// highlighted text nodes where a range begins or ends.
function wrapRanges(element, ranges) {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  let position = 0;
  for (const node of nodes) {
    const text = node.textContent, from = position, to = position + text.length;
    position = to;
    const cuts = new Set([0, text.length]);
    for (const [start, end] of ranges) {
      if (start > from && start < to) cuts.add(start - from);
      if (end > from && end < to) cuts.add(end - from);
    }
    const points = [...cuts].sort((a, b) => a - b);
    const fragment = document.createDocumentFragment();
    for (let i = 0; i + 1 < points.length; i++) {
      const piece = document.createTextNode(text.slice(points[i], points[i + 1]));
      const at = from + points[i];
      const range = ranges.find(([start, end]) => at >= start && at < end);
      if (!range) { fragment.append(piece); continue; }
      const span = document.createElement("span");
      span.className = range[2] > 0 ? "cov-hit" : "cov-miss";
      span.dataset.count = range[2];
      span.append(piece);
      fragment.append(span);
    }
    node.replaceWith(fragment);
  }
}

function jumpUncovered(step) {
  const misses = [...document.querySelectorAll("table.source tr.miss")];
  if (!misses.length) return;
  const current = document.querySelector("table.source tr.target");
  let index = current ? misses.indexOf(current) : -1;
  index = index < 0 ? (step > 0 ? 0 : misses.length - 1) : (index + step + misses.length) % misses.length;
  if (current) current.classList.remove("target");
  misses[index].classList.add("target");
  misses[index].scrollIntoView({ block: "center" });
}

// j/k with a baseline: the blocks of newly covered or lost lines (a run of consecutive
// lines of one of these categories is one block), from the current target onwards.
function jumpChanges(step) {
  const rows = [...document.querySelectorAll("table.source tr")];
  const starts = [];
  rows.forEach((row, index) => {
    const kind = row.dataset.delta;
    if ((kind === "n" || kind === "l") && (index === 0 || rows[index - 1].dataset.delta !== kind)) starts.push(index);
  });
  if (!starts.length) return;
  const current = document.querySelector("table.source tr.target");
  const at = current ? rows.indexOf(current) : -1;
  let next;
  if (at < 0) next = step > 0 ? starts[0] : starts[starts.length - 1];
  else if (step > 0) next = starts.find((i) => i > at) ?? starts[0];
  else next = [...starts].reverse().find((i) => i < at) ?? starts[starts.length - 1];
  if (current) current.classList.remove("target");
  rows[next].classList.add("target");
  rows[next].scrollIntoView({ block: "center" });
}

if (document.body.dataset.page === "index") initIndex(); else initBinary();
