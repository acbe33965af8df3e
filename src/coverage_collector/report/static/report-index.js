// coverage-collector report, module "index": the owners, binaries and namespaces tables.
((cc) => {
  const { data, baseline, $ } = cc.page;
  const { LEVELS, level, percentText } = cc.format;
  const { cell, coverageCell, deltaCell, multiSelect, compare, sortable, tabs, simpleTable, focusSearchOnSlash } = cc.ui;

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

  cc.index = Object.freeze({ init: initIndex });
})(coverageCollector);
