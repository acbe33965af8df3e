// coverage-collector report, module "index": the owners, binaries and namespaces tables.
// The owners come as columns from data files (module "owners"); the owners table holds only
// the rows in view (module "virtual"). The search, the filters, the sort and the tab are the
// page's hash (#q=kv&namespace=shop&sort=percent&order=desc&tab=binaries): a link to it opens
// the same view.
((cc) => {
  const { data, baseline, $ } = cc.page;
  const { LEVELS, percentText, countText } = cc.format;
  const { cell, countCell, coverageCell, deltaCell, multiSelect, sortable, tabs, showTab, simpleTable, focusSearchOnSlash, shortcutsHelp } = cc.ui;
  const TALLY = cc.fields.tally;
  const MULTI = ["namespace", "type", "level", "source", "cluster"];
  const HOST = "(host)";
  const OWNERS_LISTED = 50;

  function initIndex() {
    // the data files are deferred scripts after this one: they have all run at DOMContentLoaded
    document.addEventListener("DOMContentLoaded", start);
  }

  function start() {
    if (!cc.owners.complete()) {
      $("#shown").textContent = "Could not load the owners' data files (data/index/): render the report again.";
      return;
    }
    const t = cc.owners.table();
    const words = t.words;
    const state = { key: "namespace", direction: 1, tab: "owners" };
    const filters = {
      namespace: multiSelect($("#filter-namespace"), "Namespaces", words.namespace, () => render()),
      type: multiSelect($("#filter-type"), "Owner types", words.type, () => render()),
      level: multiSelect($("#filter-level"), "Coverage levels", LEVELS, () => render()),
      source: multiSelect($("#filter-source"), "Source repositories", t.sources, () => render()),
      cluster: multiSelect($("#filter-cluster"), "Clusters", words.cluster, () => render()),
    };
    const checks = { tests: $("#hide-tests"), testBinaries: $("#hide-test-binaries"), changed: baseline ? $("#changed-only") : null };
    const table = cc.virtual.virtualTable($("#owners"), (i) => ownerRow(t, i), (i, ready) => ownerDetail(t, i, ready));
    let shownBinaries = null;

    const criteria = () => ({
      query: $("#search").value.trim().toLowerCase(),
      hideTests: checks.tests.checked, hideTestBinaries: checks.testBinaries.checked,
      changedOnly: checks.changed !== null && checks.changed.checked,
      namespace: filters.namespace.chosen, type: filters.type.chosen, level: filters.level.chosen,
      source: filters.source.chosen, cluster: filters.cluster.chosen,
    });
    const render = () => {
      const rows = cc.owners.query(criteria(), state.key, state.direction);
      table.show(rows);
      const stats = cc.owners.stats(rows);
      updateStats(t, stats);
      drawTiers($("#tiers-owners"), "Owners", "owners", stats.ownerTiers, filters.level, render);
      drawTiers($("#tiers-binaries"), "Binaries", "binaries", stats.binaryTiers, null, null);
      shownBinaries = stats.seen;
      views.update();
      writeHash();
    };

    // The view as the page's hash, and back.
    const writeHash = () => {
      const params = new URLSearchParams();
      const query = $("#search").value;
      if (query) params.set("q", query);
      for (const name of MULTI) for (const value of filters[name].chosen) params.append(name, value);
      if (!checks.tests.checked) params.set("tests", "shown");
      if (!checks.testBinaries.checked) params.set("testBinaries", "shown");
      if (checks.changed && checks.changed.checked) params.set("changed", "only");
      if (state.key !== "namespace" || state.direction !== 1) {
        params.set("sort", state.key);
        if (state.direction < 0) params.set("order", "desc");
      }
      if (state.tab !== "owners") params.set("tab", state.tab);
      const hash = params.toString();
      if (hash === location.hash.slice(1)) return;
      try {
        history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
      } catch (error) {
        // some browsers refuse to change a file:// URL: the view still works
      }
    };
    const readHash = () => {
      const params = new URLSearchParams(location.hash.slice(1));
      $("#search").value = params.get("q") || "";
      for (const name of MULTI) filters[name].choose(params.getAll(name));
      checks.tests.checked = params.get("tests") !== "shown";
      checks.testBinaries.checked = params.get("testBinaries") !== "shown";
      if (checks.changed) checks.changed.checked = params.get("changed") === "only";
      const key = params.get("sort");
      const known = key && $("#owners").querySelector("th[data-key='" + CSS.escape(key) + "']");
      state.key = known ? key : "namespace";
      state.direction = known && params.get("order") === "desc" ? -1 : 1;
      for (const th of $("#owners").querySelectorAll("th")) th.removeAttribute("aria-sort");
      if (known) known.setAttribute("aria-sort", state.direction > 0 ? "ascending" : "descending");
      state.tab = ["binaries", "namespaces"].includes(params.get("tab")) ? params.get("tab") : "owners";
      showTab(state.tab, onTab);
    };

    const views = otherViews(t, () => shownBinaries);
    const onTab = (name) => {
      state.tab = name;
      if (name === "owners") table.draw(); else views.update();
      writeHash();
    };

    for (const id of ["#search", "#hide-tests", "#hide-test-binaries"]) $(id).addEventListener("input", render);
    if (checks.changed) checks.changed.addEventListener("input", render);
    $("#owners tbody").addEventListener("click", (event) => {
      const row = event.target.closest("tr.row");
      if (!row || event.target.closest("a")) return;
      const focused = document.activeElement === row; // opened with the keyboard
      table.toggle(Number(row.dataset.row));
      if (focused && row.isConnected) row.focus({ preventScroll: true }); // redrawn: keep it
    });
    sortable($("#owners"), state, render);
    focusSearchOnSlash();
    shortcutsHelp([["/", "search the owners"]]);
    tabs(onTab);
    window.addEventListener("hashchange", () => { readHash(); render(); });
    readHash();
    render();
  }

  // The binaries and namespaces tabs: those of the owners shown (a binary lists all its owners).
  function otherViews(t, shownBinaries) {
    let binaryItems = null, binariesView = null, namespacesView = null;
    const binaries = () => {
      if (binaryItems) return binaryItems;
      const ownersOf = t.binaryIds.map(() => []);
      for (let i = 0; i < t.n; i++) {
        const ns = t.words.namespace[t.namespace[i]];
        ownersOf[t.dense[i]].push((ns ? ns + "/" : "") + t.owner[i]);
      }
      binaryItems = t.binaryIds.map((id, b) => {
        const names = ownersOf[b].sort();
        const listed = names.length > OWNERS_LISTED
          ? names.slice(0, OWNERS_LISTED).join(", ") + ", \u2026 (" + names.length + " owners)"
          : names.join(", ");
        return { ...data.binaries[id], owners: listed, dense: b };
      });
      binariesView = simpleTable($("#binaries"), [
        (b) => { const td = cell(""), a = document.createElement("a"); a.href = b.page; a.textContent = b.name; td.append(a); return td; },
        (b) => cell(b.hash.slice(0, 12), "hash"), (b) => cell(b.owners),
        (b) => coverageCell(b.percent), (b) => countCell(b.statements),
        (b) => countCell(b.covered), (b) => cell(b.confidence),
      ], { key: "name", direction: 1 });
      namespacesView = simpleTable($("#namespaces"), [
        (n) => cell(n.namespace), (n) => countCell(n.binaries), (n) => countCell(n.entries),
        (n) => coverageCell(n.percent), (n) => countCell(n.statements), (n) => countCell(n.covered),
      ], { key: "namespace", direction: 1 });
      return binaryItems;
    };
    return {
      // Redraw the tab shown, if it is one of these (the hidden one is drawn when shown).
      update() {
        const seen = shownBinaries();
        if (!$("#binaries").hidden) {
          const items = binaries().filter((b) => seen[b.dense]);
          binariesView(items);
        } else if (!$("#namespaces").hidden) {
          binaries();
          const names = new Set();
          for (let i = 0; i < t.n; i++) {
            if (seen[t.dense[i]]) names.add(t.words.namespace[t.namespace[i]] || HOST);
          }
          namespacesView(data.namespaces.filter((n) => names.has(n.namespace)));
        }
      },
    };
  }

  function updateStats(t, stats) {
    $("#stat-owners").textContent = countText(stats.owners);
    $("#stat-binaries").textContent = countText(stats.binaries);
    $("#stat-statements").textContent = countText(stats.statements);
    $("#stat-coverage").textContent = stats.statements ? percentText(100 * stats.covered / stats.statements) : "-";
    $("#shown").textContent = stats.owners + " of " + t.n + " owners shown";
  }

  // The tier distribution (the prior tool's badges): a bar split by tier and a badge per tier
  // with a count, of the rows shown. The owners' badges choose that tier in the level filter.
  const TIER_RANGES = { excellent: "70% or more", good: "50-70%", moderate: "30-50%", poor: "15-30%", critical: "under 15%" };
  function drawTiers(box, label, noun, counts, filter, onChange) {
    const total = counts.reduce((a, b) => a + b, 0);
    const title = document.createElement("span");
    title.className = "label";
    title.textContent = label;
    const stack = document.createElement("div");
    stack.className = "stack";
    stack.setAttribute("role", "img");
    const parts = [];
    const badges = [];
    LEVELS.forEach((tier, k) => {
      if (!counts[k] && !(filter && filter.chosen.has(tier))) return;
      const share = total ? 100 * counts[k] / total : 0;
      const words = tierName(tier) + ": " + countText(counts[k]) + " " + noun + " (" + percentText(share) + ", coverage " + TIER_RANGES[tier] + ")";
      parts.push(words);
      const segment = document.createElement("span");
      segment.className = tier;
      segment.style.width = share + "%";
      segment.title = words;
      stack.append(segment);
      const badge = document.createElement(filter ? "button" : "span");
      badge.className = "tier-badge " + tier;
      badge.textContent = tierName(tier) + " " + countText(counts[k]);
      badge.title = words;
      if (filter) {
        badge.type = "button";
        badge.setAttribute("aria-pressed", String(filter.chosen.has(tier)));
        badge.addEventListener("click", () => {
          const chosen = new Set(filter.chosen);
          if (chosen.has(tier)) chosen.delete(tier); else chosen.add(tier);
          filter.choose([...chosen]);
          onChange();
        });
      }
      badges.push(badge);
    });
    stack.setAttribute("aria-label", label + " by coverage tier: " + (parts.join("; ") || "none shown"));
    const keep = box.querySelector("button:focus") ? box.querySelector("button:focus").className : null;
    box.replaceChildren(title, stack, ...badges);
    if (keep) { const again = box.getElementsByClassName(keep)[0]; if (again) again.focus(); }
  }

  function tierName(tier) {
    return tier[0].toUpperCase() + tier.slice(1);
  }

  function tallies(row) {
    if (!row) return null;
    const named = {};
    for (const [name, position] of Object.entries(TALLY)) named[name] = row[position];
    return named;
  }

  function ownerRow(t, i) {
    const binary = data.binaries[t.binary[i]];
    const errors = t.errors[i];
    const tr = document.createElement("tr");
    tr.className = "row" + (errors ? " has-errors" : "") + (binary.confidence === "none" ? " no-source" : "");
    tr.tabIndex = 0;
    tr.dataset.row = i;
    const name = cell(t.owner[i]);
    name.title = t.owner[i];
    if (errors) name.append(badge(errors + " errors", "bad"));
    if (binary.confidence === "none") name.append(badge("no source", "warn"));
    const link = document.createElement("a");
    // a binary that several owners run: its page restricted to this owner
    const shared = t.binaryOwners[t.dense[i]] > 1;
    link.href = binary.page + (shared ? "#owner=" + t.id[i] : "");
    link.textContent = t.words.binaryName[t.binaryName[i]];
    if (shared) link.title = "the binary's page with this owner's coverage only";
    const binaryCell = cell("");
    binaryCell.append(link);
    const namespace = t.words.namespace[t.namespace[i]] || HOST;
    const namespaceCell = cell(namespace);
    namespaceCell.title = namespace;
    tr.append(namespaceCell, cell(t.words.type[t.type[i]]), name, binaryCell,
      countCell(t.pods[i]), coverageCell(t.percent[i]));
    if (baseline) {
      tr.append(cell(t.baseText[i], "num base"),
        deltaCell({ deltaText: t.deltaText[i], direction: t.direction[i], diff: tallies(t.diff[i]) }));
      if (t.changed[i]) tr.classList.add("changed");
    }
    const clusters = clusterNames(t, i);
    const clusterCell = cell(String(clusters.length), "num");
    clusterCell.title = clusters.join(", ");
    tr.append(countCell(t.statements[i]), countCell(t.covered[i]), clusterCell);
    return tr;
  }

  function clusterNames(t, i) {
    return t.clusters[i].map((c) => t.words.cluster[c]);
  }

  // The expanded row (null while its details load; `ready` is called when they are there).
  function ownerDetail(t, i, ready) {
    const more = cc.owners.detailOf(i, ready);
    if (!more) return null;
    const binary = data.binaries[t.binary[i]];
    const detail = document.createElement("tr");
    detail.className = "detail";
    const td = document.createElement("td");
    td.colSpan = document.querySelectorAll("#owners thead th").length;
    const list = document.createElement("dl");
    const facts = [
      ["Pods", more.pods.join(", ")], ["Hosts", more.hosts.join(", ")],
      ["Containers", t.containers[i].join(", ")], ["Images", more.images.join(", ")],
      ["Clusters", clusterNames(t, i).join(", ")],
      ["Source", binary.source ? binary.source + " @ " + binary.commit.slice(0, 12) : "none"],
      ["First seen", more.firstSeen], ["Last seen", more.lastSeen],
      ["Binary", binary.hash], ["Instances", String(more.instances)],
    ];
    if (baseline) {
      const d = tallies(t.diff[i]);
      facts.push(["Since " + baseline.name, !d ? "not in the comparison"
        : (t.base[i] === null ? "new owner (not in the baseline)" : t.baseText[i] + " \u2192 " + percentText(t.percent[i]) + " (" + t.deltaText[i] + " points)") +
          (d.rebuilt ? ", rebuilt" : "") + (t.changed[i] ? "" : ", unchanged")]);
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

  cc.index = Object.freeze({ init: initIndex });
})(coverageCollector);
