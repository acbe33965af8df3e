// coverage-collector report, module "binary": a binary's files, tree and functions, and the
// scripts that load its coverage, sources and functions on demand.
((cc) => {
  const { data, baseline, $ } = cc.page;
  const { LEVELS, level, percentOf, percentText, countText } = cc.format;
  const { cell, pathCell, countCell, coverageCell, deltaCell, multiSelect, compare, sortable, tabs, showTab, focusSearchOnSlash, shortcutsHelp, changeSummary, folderTree, loadScript } = cc.ui;
  const FN = cc.fields.function, CHUNK = cc.fields.sourceChunk;

  // The data files call these three (ccFiles, ccSource, ccFunctions; report-who.js has two
  // more): the only globals besides coverageCollector, named by the data files' format.
  const loaded = {}, sources = {};
  let pending = null;
  window.ccFiles = (payloads) => {
    for (const payload of payloads) loaded[payload.id] = payload;
    if (pending) pending();
  };
  // A highlighted source arrives in one or more chunks (report/fields.py's SourceChunk).
  const chunks = {};
  window.ccSource = (chunk) => {
    const digest = chunk[CHUNK.digest], index = chunk[CHUNK.index], count = chunk[CHUNK.count];
    const lines = chunk[CHUNK.lines];
    const parts = chunks[digest] = chunks[digest] || { count, lines: [] };
    parts.lines[index] = lines;
    if (index === 0) for (let i = 1; i < count; i++) loadScript("../data/src/" + digest + "-" + i + ".js");
    if (parts.lines.filter(Boolean).length === count) sources[digest] = parts.lines.flat();
    if (pending) pending();
  };

  // The owners the page is restricted to (ids; none: every owner), module "who".
  let ownerIds = [];

  // The page's state in the URL hash (file, line, q, level, sort, order, tab, layout,
  // changed, owner, map: the folder the map shows): a reload or a shared link shows the
  // same view. `changes` replace those keys
  // (an empty value or list removes one); the other keys stay.
  function updateHash(changes) {
    const old = /^#file\d+$/.test(location.hash); // the prior tool's #file<i>: start anew
    const params = new URLSearchParams(old ? "" : location.hash.slice(1));
    for (const [key, value] of Object.entries(changes)) {
      params.delete(key);
      for (const one of Array.isArray(value) ? value : [value]) if (one) params.append(key, one);
    }
    const text = params.toString();
    if (text || location.hash) history.replaceState(null, "", text ? "#" + text : location.pathname + location.search);
  }

  // The filter by change since the baseline: a file shows when it has statements of one of
  // the chosen categories (its tallies, report/model.py's Change).
  const CHANGES = {
    "newly covered": (d) => d.newly,
    "lost": (d) => d.lost,
    "new code, covered": (d) => d.newCovered,
    "new code, not covered": (d) => d.newCode - d.newCovered,
    "never covered": (d) => d.never,
    "removed code": (d) => d.removed,
  };

  function initBinary() {
    const state = { key: "path", direction: 1, current: null };
    const allFiles = data.files;
    let files = allFiles; // with owners chosen: their numbers
    const saved = new URLSearchParams(/^#file\d+$/.test(location.hash) ? "" : location.hash.slice(1));
    const target = parseHash(files); // read before the first render writes the hash
    const render = () => {
      const typed = $("#search").value.trim();
      const query = typed.toLowerCase();
      const changedOnly = baseline !== null && $("#changed-only").checked;
      updateHash({
        q: typed, level: [...levels], change: [...changes], sort: state.key === "path" ? "" : state.key,
        order: state.direction < 0 ? "desc" : "", changed: changedOnly ? "only" : "",
        owner: ownerIds.map(String),
      });
      const rows = files.filter((f) => (!query || f.path.toLowerCase().includes(query)) &&
        (!levels.size || levels.has(level(f.percent))) && (!changedOnly || f.changed) &&
        (!changes.size || [...changes].some((name) => f.diff && CHANGES[name](f.diff) > 0))).sort(compare(state.key, state.direction));
      state.order = rows;
      const body = document.createDocumentFragment();
      for (const f of rows) {
        const tr = document.createElement("tr");
        tr.className = "row" + (f.status === "resolved" ? "" : " no-source") + (state.current === f.id ? " open" : "");
        tr.tabIndex = 0;
        tr.dataset.id = f.id;
        tr.append(pathCell(f.path), coverageCell(f.percent));
        if (baseline) tr.append(deltaCell(f));
        tr.append(countCell(f.statements), countCell(f.covered));
        body.append(tr);
      }
      $("#files tbody").replaceChildren(body);
      $("#shown").textContent = rows.length + " of " + files.length + " files shown" +
        (ownerIds.length ? ", numbers of " + ownerIds.length + " of " + data.owners.length + " owners" : "");
    };
    const levelFilter = multiSelect($("#filter-level"), "Coverage levels", LEVELS, () => render());
    const levels = levelFilter.chosen;
    levelFilter.choose(saved.getAll("level"));
    const changeFilter = baseline
      ? multiSelect($("#filter-change"), "Changes", Object.keys(CHANGES), () => render())
      : null;
    const changes = changeFilter ? changeFilter.chosen : new Set();
    if (changeFilter) changeFilter.choose(saved.getAll("change"));
    $("#search").value = saved.get("q") || "";
    $("#search").addEventListener("input", render);
    if (baseline) {
      $("#changed-only").checked = saved.get("changed") === "only";
      $("#changed-only").addEventListener("input", render);
    }
    const sortHeader = $("#files").querySelector(`th[data-key="${CSS.escape(saved.get("sort") || "")}"]`);
    if (sortHeader) {
      state.key = sortHeader.dataset.key;
      state.direction = saved.get("order") === "desc" ? -1 : 1;
      sortHeader.setAttribute("aria-sort", state.direction > 0 ? "ascending" : "descending");
    }
    for (const button of document.querySelectorAll("#views button")) {
      button.addEventListener("click", () => {
        $(".split").dataset.layout = button.dataset.layout;
        for (const other of document.querySelectorAll("#views button")) other.classList.toggle("active", other === button);
        updateHash({ layout: button.dataset.layout === "split" ? "" : button.dataset.layout });
      });
      if (button.dataset.layout === saved.get("layout")) button.click();
    }
    $("#files tbody").addEventListener("click", (event) => {
      const row = event.target.closest("tr.row");
      if (row) { state.current = Number(row.dataset.id); openFile(files.find((f) => f.id === state.current)); render(); }
    });
    sortable($("#files"), state, render);
    focusSearchOnSlash();
    shortcutsHelp([
      ["/", "search the files"],
      ["j, k", baseline && baseline.lines ? "next, previous block of newly covered or lost lines"
        : "next, previous block of lines not executed"],
      ["[, ]", "previous, next file of the list"],
      ...(cc.who.enabled ? [["w", "who ran the target line (or click a line)"]] : []),
    ]);
    document.addEventListener("keydown", (event) => {
      if (document.activeElement.tagName === "INPUT") return;
      if (event.key === "j" || event.key === "k") {
        // with a baseline: newly covered and lost blocks; without: uncovered lines
        if (baseline && baseline.lines) cc.source.jumpChanges(event.key === "j" ? 1 : -1);
        else cc.source.jumpUncovered(event.key === "j" ? 1 : -1);
      }
      if (event.key === "w" && cc.who.enabled) whoOfTarget(files);
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
    let map = null; // drawn when first shown: its size is its column's
    const drawMap = (folder) => cc.map.build($("#map"), files, open, (shown) => updateHash({ map: shown }), folder);
    // The owner filter (a binary several owners run): files, tree, functions, totals and the
    // source's colours become those of the chosen owners, from data loaded on demand.
    const ownerFilter = cc.who.enabled
      ? multiSelect($("#filter-owner"), "Owners", cc.who.labels(), () => applyOwners())
      : null;
    const cards = [...document.querySelectorAll(".cards .value")].map((e) => [e, e.textContent]);
    const refresh = () => {
      files = ownerIds.length ? cc.who.files(allFiles, ownerIds) : allFiles;
      render();
      buildTree($("#tree"), files, open);
      if (map) map = drawMap(new URLSearchParams(location.hash.slice(1)).get("map"));
      refreshFunctions();
      let statements = 0, covered = 0;
      for (const f of files) { statements += f.statements; covered += f.covered; }
      for (const [element, text] of cards) element.textContent = text; // every owner's
      if (ownerIds.length) {
        $("#card-percent").textContent = percentText(percentOf(covered, statements));
        $("#card-covered").textContent = countText(covered);
      }
      $("#card-percent-label").textContent = ownerIds.length
        ? "coverage of " + ownerIds.length + " of " + data.owners.length + " owners" : "coverage";
      const current = files.find((f) => f.id === state.current);
      if (current) openFile(current, Number(new URLSearchParams(location.hash.slice(1)).get("line") || 0));
    };
    const applyOwners = () => {
      ownerIds = cc.who.idsOf(ownerFilter.chosen);
      if (ownerIds.length) cc.who.whenLoaded(refresh); else refresh();
    };
    if (ownerFilter) {
      ownerFilter.choose(cc.who.labelsOf(saved.getAll("owner")));
      if (ownerFilter.chosen.size) applyOwners();
    }
    const onTab = (name) => {
      if (name === "functions") loadFunctions(files, open);
      if (name === "map") {
        if (map) map.redraw();
        else map = drawMap(saved.get("map"));
      }
      updateHash({ tab: name === "files" ? "" : name });
    };
    tabs(onTab);
    if (["tree", "functions", "map"].includes(saved.get("tab"))) showTab(saved.get("tab"), onTab);
    if (target.file) { state.current = target.file.id; openFile(files.find((f) => f.id === target.file.id), target.line); render(); }
  }

  // The package tree: directories with coverage rolled up from their files. A chain of
  // folders with one sub-folder and no file is one entry (a/b/c/); the first two levels are
  // open, the rest closed until asked (1,464 files were all open at once); each folder shows
  // a bar; "expand all", "collapse all" and a search over file paths act on the whole tree.
  function buildTree(container, files, open) {
    const root = folderTree(files);
    const leaves = [];
    const render = (at, depth) => {
      const name = at.name;
      const details = document.createElement("details");
      details.open = depth < 2;
      const summary = document.createElement("summary");
      const pct = percentOf(at.covered, at.statements);
      summary.className = "cov " + level(pct);
      const bar = document.createElement("span");
      bar.className = "meter";
      const fill = document.createElement("span");
      fill.className = "bar";
      fill.style.width = Math.max(0, Math.min(100, pct)) + "%";
      bar.append(fill);
      summary.append(name + "  " + percentText(pct) + " (" + countText(at.covered) + "/" + countText(at.statements) + ") ", bar);
      if (baseline) { // the folder's statements by category of change, as text
        const changes = document.createElement("span");
        changes.className = "changes";
        changes.textContent = changeSummary(at.diff);
        summary.append(changes);
      }
      details.append(summary);
      for (const [, sub] of [...at.dirs].sort()) details.append(render(sub, depth + 1));
      for (const f of at.files) {
        const leaf = document.createElement("div");
        leaf.className = "leaf cov " + level(f.percent);
        leaf.tabIndex = 0;
        leaf.textContent = f.path.split("/").pop() + "  " + percentText(f.percent);
        leaf.dataset.path = f.path.toLowerCase();
        leaf.addEventListener("click", () => open(f));
        details.append(leaf);
        leaves.push(leaf);
      }
      return details;
    };
    const tree = render(root, 0);
    const tools = document.createElement("div");
    tools.className = "tree-tools";
    const search = document.createElement("input");
    search.type = "search";
    search.placeholder = "Find in tree";
    search.setAttribute("aria-label", "Find files in the tree");
    const button = (text, action) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = text;
      b.addEventListener("click", action);
      return b;
    };
    const all = (value) => { for (const d of tree.querySelectorAll("details")) d.open = value; };
    search.addEventListener("input", () => {
      const query = search.value.trim().toLowerCase();
      for (const d of tree.querySelectorAll("details")) d.hidden = false;
      for (const leaf of leaves) leaf.hidden = query !== "" && !leaf.dataset.path.includes(query);
      if (!query) return;
      // show the folders holding a match, open; hide the others
      for (const d of [...tree.querySelectorAll("details")].reverse()) {
        const match = [...d.querySelectorAll(".leaf")].some((leaf) => !leaf.hidden);
        d.hidden = !match;
        d.open = match;
      }
    });
    tools.append(search, button("expand all", () => all(true)), button("collapse all", () => all(false)));
    container.replaceChildren(tools, tree);
  }

  // Functions load on demand from data/<hash>/functions.js; with owners chosen, their
  // numbers (refreshFunctions shows them again when the choice changes).
  let functionsLoaded = false, refreshFunctions = () => {};
  function loadFunctions(files, open) {
    if (functionsLoaded) return;
    functionsLoaded = true;
    const byId = new Map(files.map((f) => [f.id, f]));
    window.ccFunctions = (rows) => {
      // each row gets its percent, at the position report/fields.py names for it
      let items = [];
      const compute = () => {
        const numbers = ownerIds.length ? cc.who.functions(rows.length, ownerIds) : null;
        items = rows.map((r, k) => {
          const item = [...r];
          if (numbers) { item[FN.covered] = numbers.covered[k]; item[FN.executions] = numbers.calls[k]; }
          item[FN.percent] = percentOf(item[FN.covered], item[FN.statements]);
          return item;
        });
      };
      const state = { key: String(FN.file), direction: 1 };
      const render = () => {
        const never = $("#never-executed").checked;
        const body = document.createDocumentFragment();
        for (const r of items.filter((r) => !never || r[FN.executions] === 0).sort(compare(state.key, state.direction))) {
          const tr = document.createElement("tr");
          tr.className = "row";
          tr.tabIndex = 0;
          const file = byId.get(r[FN.file]);
          const where = (file ? file.path.split("/").pop() : "?") + ":" + r[FN.line];
          const name = cell(r[FN.name]), place = cell(where);
          name.title = r[FN.name]; // the whole name where the column cuts it
          place.title = (file ? file.path : "?") + ":" + r[FN.line];
          tr.append(name, place,
            countCell(r[FN.statements]), coverageCell(r[FN.percent]), countCell(r[FN.executions]));
          tr.addEventListener("click", () => file && open(file, r[FN.line]));
          body.append(tr);
        }
        $("#functions tbody").replaceChildren(body);
      };
      $("#never-executed").addEventListener("input", render);
      sortable($("#functions"), state, render);
      refreshFunctions = () => { compute(); render(); };
      refreshFunctions();
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
    updateHash({ file: file.path, line: line ? String(line) : "" });
    const since = [];
    if (baseline) { // the file's statements by category of change, as text
      const changes = document.createElement("p");
      changes.className = "meta changes";
      changes.textContent = "Since " + baseline.name + ": " + changeSummary(file.diff) +
        (baseline.lines ? " \u00b7 each line's count: the baseline's, then today's" : "");
      since.push(changes);
    }
    if (file.upstream) { // the file in its repository at the binary's commit
      const link = document.createElement("a");
      link.href = file.upstream;
      link.rel = "noopener noreferrer";
      link.textContent = "upstream @ " + data.binary.commit.slice(0, 12);
      link.className = "upstream";
      stats.append(" \u00b7 ", link);
    }
    if (file.status !== "resolved") {
      const why = document.createElement("p");
      why.className = "no-source-reason";
      why.textContent = file.reason
        ? "Source not shown: the file was refused (" + file.reason + "): the tool reads only regular files inside their checkout, up to 8 MiB."
        : file.status === "missing"
        ? "Source not shown: the file is not in the checkout of " + (data.binary.source || "its repository") + " (generated at build time?)."
        : "Source not shown: no repository was found for this file. " + (data.binary.notes || "") +
          " To resolve it: `coverage-collector cluster clone-sources` (the binary's info.json must name its" +
          " repository and commit), then `cluster render` again.";
      viewer.replaceChildren(heading, stats, ...since, why);
      return;
    }
    const show = (payload) => {
      const ids = ownerIds;
      const shown = ids.length ? cc.who.payload(payload, file, ids) : payload;
      const table = cc.source.table(shown, sources[payload.src], file);
      viewer.replaceChildren(heading, stats, ...since, table);
      if (cc.who.enabled) {
        // a click on a line says who ran it
        table.addEventListener("click", (event) => {
          const row = event.target.closest("tr[id]");
          if (row && !event.target.closest("a, tr.who-row")) showWho(file, Number(row.id.slice(1)));
        });
      }
      if (line) {
        table.ensure(line);
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
      if (ownerIds.length) cc.who.whenFile(file, () => show(payload)); else show(payload);
    };
    if (loaded[file.id]) pending(); else loadScript("../data/" + data.binary.hash + "/g" + file.group + ".js");
  }

  // Who ran `line` of `file` (open in the viewer): a row under that line, which becomes the
  // target (in the hash: a reload shows that line).
  function showWho(file, line) {
    if (!line) return;
    cc.who.whenFile(file, () => {
      const table = document.querySelector("table.source");
      if (table && table.ensure) table.ensure(line);
      const row = document.getElementById("L" + line);
      if (!row) return;
      const old = $("tr.who-row");
      if (old) old.remove();
      for (const other of document.querySelectorAll("table.source tr.target")) other.classList.remove("target");
      row.classList.add("target");
      updateHash({ line: String(line) });
      const detail = document.createElement("tr");
      detail.className = "who-row";
      const td = document.createElement("td");
      td.colSpan = row.cells.length;
      // closed, the focus goes back to the viewer (where j, k and w act)
      const close = () => { detail.remove(); $("#viewer").focus({ preventScroll: true }); };
      td.append(cc.who.panel(file, line, ownerIds, close));
      detail.append(td);
      row.after(detail);
      detail.querySelector("button").focus({ preventScroll: true });
    });
  }

  // w: who ran the target line (or the first line executed) of the open file.
  function whoOfTarget(files) {
    const file = files.find((f) => f.path === new URLSearchParams(location.hash.slice(1)).get("file"));
    const row = document.querySelector("table.source tr.target") || document.querySelector("table.source tr.hit");
    if (file && row) showWho(file, Number(row.id.slice(1)));
  }

  cc.binary = Object.freeze({ init: initBinary });
})(coverageCollector);
