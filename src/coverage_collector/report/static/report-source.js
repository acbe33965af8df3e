// coverage-collector report, module "source": a file's annotated source and moving through it.
((cc) => {
  const { data } = cc.page;
  const { cell } = cc.ui;
  const SPAN = cc.fields.span;
  // Per-line category letters of report/delta.py's LINE_CATEGORIES: [CSS class suffix, label].
  // The third item is genhtml's code for the category (its differential coverage report):
  // shown in the line's gutter, so a category never depends on seeing its colour.
  const LINE_CATEGORIES = {
    l: ["lost", "lost", "LBC"], n: ["newly-covered", "newly covered", "GBC"],
    u: ["new-uncovered", "new code, not covered", "UNC"], c: ["new-covered", "new code, covered", "GNC"],
    v: ["never-covered", "never covered", "UBC"], s: ["still-covered", "still covered", "CBC"],
  };

  // With a baseline: the line's count in the baseline, beside today's ("new" for code the
  // baseline did not have), so a change reads as "12 -> 0" without hovering.
  function baselineCell(base, count, setMode) {
    const text = base >= 0 ? (setMode ? (base > 0 ? "hit" : "miss") : String(base)) : count >= 0 ? "new" : "";
    const td = cell(text, "exec base");
    if (base >= 0) td.title = "baseline: " + (base === 0 ? "not executed" : setMode ? "executed" : "executed " + base + " times");
    else if (count >= 0) td.title = "new code: not in the baseline";
    return td;
  }

  // A file's lines as a table: line number (a link to the line upstream, when the file has
  // one), count, highlighted code with coverage spans. A file of more than LAZY_LINES lines
  // gets its rows BLOCK lines at a time, as they come near the view (placeholders of the
  // same height hold the place): a generated file of 100,000 lines shows at once instead of
  // after seconds of building and laying out rows nobody looks at. `ensure(line)` builds a
  // line's block (deep links, j/k), `kinds` answers j/k from the data, not the rows.
  const LAZY_LINES = 4000, BLOCK = 1000;
  function table(payload, lines, file) {
    const table = document.createElement("table");
    table.className = "source src";
    const body = document.createElement("tbody");
    const setMode = data.binary.mode === "set";
    const spans = {};
    for (const span of payload.spans) {
      const line = span[SPAN.line];
      (spans[line] = spans[line] || []).push({ start: span[SPAN.start], end: span[SPAN.end], count: span[SPAN.count] });
    }
    const row = (index) => lineRow(payload, lines[index], index, file, setMode, spans[index]);
    const columns = payload.bases ? 4 : 3;
    const placeholders = [];
    if (lines.length <= LAZY_LINES) {
      for (let index = 0; index < lines.length; index++) body.append(row(index));
    } else {
      for (let first = 0; first < lines.length; first += BLOCK) {
        const holder = document.createElement("tr");
        holder.className = "pending";
        holder.dataset.first = first;
        const td = document.createElement("td");
        td.colSpan = columns;
        td.style.height = "calc(" + Math.min(BLOCK, lines.length - first) + " * 1.5em)";
        holder.append(td);
        placeholders.push(holder);
        body.append(holder);
      }
    }
    const fill = (block) => {
      const holder = placeholders[block];
      if (!holder || !holder.parentNode) return;
      const first = Number(holder.dataset.first);
      const rows = document.createDocumentFragment();
      for (let index = first; index < Math.min(first + BLOCK, lines.length); index++) rows.append(row(index));
      holder.replaceWith(rows);
      placeholders[block] = null;
      if (observer) observer.unobserve(holder);
    };
    let observer = null;
    if (placeholders.length) {
      fill(0);
      requestAnimationFrame(() => { // attached by now: watch from the viewer that scrolls it
        if (typeof IntersectionObserver !== "function") { placeholders.forEach((_, b) => fill(b)); return; }
        observer = new IntersectionObserver((seen) => {
          for (const entry of seen) if (entry.isIntersecting) fill(Number(entry.target.dataset.first) / BLOCK);
        }, { root: table.closest(".viewer"), rootMargin: "1500px 0px" });
        for (const holder of placeholders) if (holder) observer.observe(holder);
      });
    }
    table.append(body);
    table.ensure = (line) => fill(Math.floor((line - 1) / BLOCK));
    table.kinds = { counts: payload.counts, cats: payload.cats, size: lines.length };
    return table;
  }

  function lineRow(payload, html, index, file, setMode, lineSpans) {
    const count = payload.counts[index] ?? -1;
    const tr = document.createElement("tr");
    tr.id = "L" + (index + 1);
    tr.className = count < 0 ? "untracked" : count > 0 ? "hit" : "miss";
    const number = cell(file && file.upstream ? "" : String(index + 1), "line-num");
    if (file && file.upstream) {
      const link = document.createElement("a");
      link.href = file.upstream + file.anchor + (index + 1);
      link.rel = "noopener noreferrer";
      link.textContent = String(index + 1);
      link.tabIndex = -1; // one Tab stop per file (the viewer's upstream link), not per line
      number.append(link);
    }
    const category = payload.cats ? LINE_CATEGORIES[payload.cats[index]] : undefined;
    if (category) {
      tr.classList.add("delta-" + category[0]);
      tr.dataset.delta = payload.cats[index];
      number.title = category[2] + ": " + category[1];
      number.dataset.cat = category[2];
    }
    const executions = cell(count < 0 ? "" : setMode ? (count > 0 ? "hit" : "miss") : String(count), "exec");
    if (count >= 0) executions.title = count === 0 ? "not executed" : setMode ? "executed" : "executed " + count + " times";
    const code = document.createElement("td");
    code.className = "code";
    code.innerHTML = html;  // produced and escaped by the report generator
    if (lineSpans) wrapRanges(code, lineSpans);
    if (payload.bases) tr.append(number, baselineCell(payload.bases[index] ?? -1, count, setMode), executions, code);
    else tr.append(number, executions, code);
    return tr;
  }

  // Wrap the character ranges {start, end, count} of a line in coverage spans, splitting the
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
      for (const { start, end } of ranges) {
        if (start > from && start < to) cuts.add(start - from);
        if (end > from && end < to) cuts.add(end - from);
      }
      const points = [...cuts].sort((a, b) => a - b);
      const fragment = document.createDocumentFragment();
      for (let i = 0; i + 1 < points.length; i++) {
        const piece = document.createTextNode(text.slice(points[i], points[i + 1]));
        const at = from + points[i];
        const range = ranges.find(({ start, end }) => at >= start && at < end);
        if (!range) { fragment.append(piece); continue; }
        const span = document.createElement("span");
        span.className = range.count > 0 ? "cov-hit" : "cov-miss";
        span.dataset.count = range.count;
        span.append(piece);
        fragment.append(span);
      }
      node.replaceWith(fragment);
    }
  }

  // j/k: move the target to the next (previous) block of marked lines after (before) the
  // current target, a deep-linked line included. A block is a run of lines of one kind;
  // lines no block covers (blank lines, comments) inside a run do not split it. The kinds
  // come from the file's data, so lines whose rows are not built yet count too.
  function jumpBlocks(step, kindOf) {
    const table = document.querySelector("table.source");
    if (!table || !table.kinds) return;
    const { counts, cats, size } = table.kinds;
    const starts = [];
    let previous = "";
    for (let index = 0; index < size; index++) {
      const count = counts[index] ?? -1;
      if (count < 0) continue; // untracked
      const kind = kindOf(count, cats ? cats[index] : undefined);
      if (kind && kind !== previous) starts.push(index);
      previous = kind;
    }
    if (!starts.length) return;
    const current = table.querySelector("tr.target");
    const at = current ? Number(current.id.slice(1)) - 1 : -1;
    let next;
    if (at < 0) next = step > 0 ? starts[0] : starts[starts.length - 1];
    else if (step > 0) next = starts.find((i) => i > at) ?? starts[0];
    else next = [...starts].reverse().find((i) => i < at) ?? starts[starts.length - 1];
    table.ensure(next + 1);
    const row = document.getElementById("L" + (next + 1));
    if (current) current.classList.remove("target");
    row.classList.add("target");
    row.scrollIntoView({ block: "center" });
  }

  // Without a baseline: blocks of lines not executed.
  const jumpUncovered = (step) => jumpBlocks(step, (count) => (count === 0 ? "miss" : ""));
  // With a baseline: blocks of newly covered or of lost lines.
  const jumpChanges = (step) => jumpBlocks(step, (count, cat) => (cat === "n" || cat === "l" ? cat : ""));

  cc.source = Object.freeze({ table, jumpUncovered, jumpChanges });
})(coverageCollector);
