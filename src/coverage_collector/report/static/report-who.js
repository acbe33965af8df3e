// coverage-collector report, module "who": who ran a line of a binary that several owners
// run, and the page's numbers for some of its owners only. Its data files (written by
// report/whoran.py) load on demand: data/<hash>/owners.js when owners are chosen,
// data/<hash>/w<group>.js when a file of that group is shown with owners chosen or asked
// who ran one of its lines. They call ccOwners and ccWho.
//
// Merging the chosen owners' counters follows results.py's engine, as `fixed` follows its
// percent rule: summed, OR-ed in set mode (counts beyond 2**53 lose precision here).
((cc) => {
  const { data } = cc.page;
  const { percentOf, countText } = cc.format;
  const { cell, loadScript } = cc.ui;
  const RUN = cc.fields.whoRun, SPAN = cc.fields.span;
  const enabled = Boolean(data.who);
  const setMode = Boolean(data.binary) && data.binary.mode === "set";
  const merge = setMode ? (a, b) => (a || b ? 1 : 0) : (a, b) => a + b;

  let units = null; // owners.js, decoded: see decode()
  const onUnits = [];
  const who = {}; // file id -> its ccWho payload
  const onWho = []; // [file id, callback] waiting for their w<group>.js

  // Each owner once, labelled for the filter: namespace/owner (type), and its id should two
  // owners of the page read alike.
  const owners = enabled ? data.owners : [];
  const named = (o) => (o.namespace || "(host)") + "/" + o.owner + " (" + o.type + ")";
  const alike = new Map();
  for (const o of owners) alike.set(named(o), (alike.get(named(o)) || 0) + 1);
  const label = (o) => named(o) + (alike.get(named(o)) > 1 ? " #" + o.id : "");
  const byLabel = new Map(owners.map((o) => [label(o), o]));
  const byId = new Map(owners.map((o) => [o.id, o]));

  window.ccOwners = (payload) => {
    units = decode(payload);
    for (const callback of onUnits.splice(0)) callback();
  };
  window.ccWho = (payloads) => {
    for (const payload of payloads) who[payload.id] = payload;
    for (let i = onWho.length - 1; i >= 0; i--) {
      const [id, callback] = onWho[i];
      if (who[id]) { onWho.splice(i, 1); callback(); }
    }
  };

  // owners.js as arrays: per unit its statements and function row, per file its units,
  // per owner the units it executed (one byte each) and its functions' calls.
  function decode(payload) {
    const n = payload.stmts.length;
    const fileUnits = new Map();
    for (let i = 0, at = 0; i < payload.files.length; i += 2) {
      fileUnits.set(payload.files[i], [at, at + payload.files[i + 1]]);
      at += payload.files[i + 1];
    }
    const funcOf = new Int32Array(n);
    for (let i = 0, at = 0; i < payload.funcs.length; i += 2) {
      funcOf.fill(payload.funcs[i], at, at + payload.funcs[i + 1]);
      at += payload.funcs[i + 1];
    }
    const hit = new Map(), calls = new Map();
    payload.owners.forEach((id, k) => {
      const ran = new Uint8Array(n);
      const runs = payload.hit[k];
      for (let i = 0, at = 0; i < runs.length; i += 2) {
        at += runs[i];
        ran.fill(1, at, at + runs[i + 1]);
        at += runs[i + 1];
      }
      hit.set(id, ran);
      calls.set(id, payload.calls[k]);
    });
    return { n, stmts: payload.stmts, fileUnits, funcOf, hit, calls };
  }

  // Call `ready` once owners.js is in (at once if it is).
  function whenLoaded(ready) {
    if (units) { ready(); return; }
    onUnits.push(ready);
    if (onUnits.length === 1) loadScript("../data/" + data.binary.hash + "/owners.js");
  }

  // Call `ready` once the who data of `file` is in.
  function whenFile(file, ready) {
    if (who[file.id]) { ready(); return; }
    const asked = onWho.some(([id]) => id === file.id);
    onWho.push([file.id, ready]);
    if (!asked) loadScript("../data/" + data.binary.hash + "/w" + file.group + ".js");
  }

  // Per unit, whether any of the owners `ids` executed it.
  function executed(ids) {
    const out = new Uint8Array(units.n);
    for (const id of ids) {
      const ran = units.hit.get(id);
      if (ran) for (let u = 0; u < units.n; u++) out[u] |= ran[u];
    }
    return out;
  }

  // The file rows with the numbers of the owners `ids` (statements stay the binary's).
  function files(rows, ids) {
    const ran = executed(ids);
    return rows.map((f) => {
      const [from, to] = units.fileUnits.get(f.id) || [0, 0];
      let covered = 0;
      for (let u = from; u < to; u++) if (ran[u]) covered += units.stmts[u];
      return { ...f, covered, percent: percentOf(covered, f.statements) };
    });
  }

  // Per function row (functions.js's order): [covered statements, calls] of the owners `ids`.
  function functions(count, ids) {
    const ran = executed(ids);
    const covered = new Float64Array(count), calls = new Float64Array(count);
    for (let u = 0; u < units.n; u++) if (ran[u] && units.funcOf[u] >= 0) covered[units.funcOf[u]] += units.stmts[u];
    for (const id of ids) {
      const pairs = units.calls.get(id) || [];
      for (let i = 0; i < pairs.length; i += 2) calls[pairs[i]] = merge(calls[pairs[i]], pairs[i + 1]);
    }
    return { covered, calls };
  }

  // Per block of a file's who data `mine`, the merge of the counts of the owners `ids`.
  function blockCounts(mine, ids) {
    const blocks = new Float64Array(mine.blocks.length / 2);
    for (const o of mine.owners) {
      if (!ids.includes(o.id)) continue;
      for (let i = 0, at = 0; i < o.counts.length; i += 2, at++) { // (blocks skipped, count)
        at += o.counts[i];
        blocks[at] = merge(blocks[at], o.counts[i + 1]);
      }
    }
    return blocks;
  }

  // Per line (`n` of them), the largest count of the blocks touching it, -1 when none does
  // (results.line_counts; the blocks' lines are already cut to the file's).
  function lineCounts(mine, blocks, n) {
    const counts = new Array(n).fill(-1);
    for (let b = 0; b < blocks.length; b++) {
      for (let line = mine.blocks[2 * b]; line <= mine.blocks[2 * b + 1]; line++) {
        if (line >= 1 && line <= n) counts[line - 1] = Math.max(counts[line - 1], blocks[b]);
      }
    }
    return counts;
  }

  // A file's coverage payload as the owners `ids` alone would make it: each block's count is
  // the merge of theirs, a line's the largest of its blocks', each range's its block's.
  function payload(original, file, ids) {
    const mine = who[file.id];
    const blocks = blockCounts(mine, ids);
    const counts = lineCounts(mine, blocks, original.counts.length);
    const spans = original.spans.map((span, i) => {
      const out = [...span];
      out[SPAN.count] = blocks[mine.spanBlock[i]];
      return out;
    });
    return { ...original, counts, spans };
  }

  // What the entries of owner `o` executed of `line` (it ran the line): [entries, process
  // instances, clusters]. An owner of one entry: that entry, all of the owner's instances and
  // clusters; of several: its `ran` runs over the lines it executed, in order.
  function entriesOf(o, row, mine, line) {
    if (!row.ran) return [1, o.instances, o.clusters.length];
    const lines = lineCounts(mine, blockCounts(mine, [o.id]), line);
    let rank = 0;
    for (let i = 0; i < line - 1; i++) if (lines[i] > 0) rank++;
    const width = Object.keys(RUN).length;
    for (let at = 0; at < row.ran.length; at += width) {
      if (rank < row.ran[at + RUN.repeat]) return [row.ran[at + RUN.entries], row.ran[at + RUN.instances], row.ran[at + RUN.clusters]];
      rank -= row.ran[at + RUN.repeat];
    }
    return [0, 0, 0];
  }

  // "Who ran line `line` of `file`": a table of the page's owners (those `ids` only, when
  // some are chosen): count, and how many of its entries, their process instances and its
  // clusters executed the line. Its close button calls `close`.
  function panel(file, line, ids, close) {
    const section = document.createElement("section");
    section.className = "who-ran";
    section.id = "who-ran";
    section.setAttribute("aria-label", "Who ran line " + line);
    const heading = document.createElement("h3");
    heading.textContent = "Who ran line " + line;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "close";
    button.textContent = "close";
    button.setAttribute("aria-label", "Close who ran line " + line);
    button.addEventListener("click", close);
    heading.append(" ", button);
    const table = document.createElement("table");
    table.className = "rows who";
    const head = document.createElement("thead");
    const titles = ["Owner", "Count", "Entries", "Process instances", "Clusters"];
    const tr = document.createElement("tr");
    titles.forEach((title, i) => {
      const th = document.createElement("th");
      th.textContent = title;
      th.scope = "col";
      if (i) th.className = "num";
      tr.append(th);
    });
    head.append(tr);
    const body = document.createElement("tbody");
    const mine = who[file.id];
    for (const o of owners) {
      if (ids.length && !ids.includes(o.id)) continue;
      const theirs = mine.owners.find((r) => r.id === o.id);
      const count = theirs ? lineCounts(mine, blockCounts(mine, [o.id]), line)[line - 1] : 0;
      const row = document.createElement("tr");
      row.dataset.owner = o.id;
      const name = cell(label(o));
      name.title = label(o);
      row.append(name);
      const clusters = o.clusters.length;
      // not run: no entry, instance or cluster ran it
      const [entries, instances, ran] = count > 0 ? entriesOf(o, theirs, mine, line) : [0, 0, 0];
      if (!(count > 0)) row.className = "not-run";
      row.append(cell(setMode ? (count > 0 ? "executed" : "not executed") : countText(Math.max(count, 0)), "num"),
        cell(countText(entries) + " of " + countText(o.reports), "num"),
        cell(countText(instances) + " of " + countText(o.instances), "num"),
        cell(clusters ? countText(ran) + " of " + countText(clusters) : "\u2013", "num"));
      body.append(row);
    }
    table.append(head, body);
    const note = document.createElement("p");
    note.className = "meta";
    note.textContent = "Entries: the owner's pods, containers or host processes that executed the line; " +
      "process instances: theirs (restarts included); clusters: those recorded at download.";
    section.append(heading, table, note);
    return section;
  }

  // The labels of the owners, for the filter; their ids, from labels and back.
  const labels = () => [...byLabel.keys()];
  const idsOf = (chosen) => [...chosen].map((l) => byLabel.get(l)).filter(Boolean).map((o) => o.id);
  const labelsOf = (ids) => ids.map((id) => byId.get(Number(id))).filter(Boolean).map(label);

  cc.who = Object.freeze({ enabled, labels, idsOf, labelsOf, whenLoaded, whenFile, files, functions, payload, panel });
})(coverageCollector);
