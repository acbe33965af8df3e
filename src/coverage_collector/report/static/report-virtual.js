// coverage-collector report, module "virtual": a table body that holds only the rows in view.
// Ten thousand rows in the DOM take seconds to lay out on every change; here the body holds
// the rows the window shows (and `overscan` more on each side) between two spacer rows whose
// heights stand for the others. Every row has one height (table.virtual in report.css, measured
// once); an expanded row adds a detail row below it, whose height is measured when shown and
// counted in the spacers from then on.
((cc) => {
  // `items` are numbers (row numbers of the caller's data); `row(item)` builds an item's row,
  // `detail(item, ready)` its detail row, or null while it is not ready (`ready()` then draws
  // again). Returns show(items), toggle(item), draw().
  function virtualTable(table, row, detail, overscan = 8) {
    const body = table.tBodies[0];
    const columns = table.tHead.rows[0].cells.length;
    const spacer = () => {
      const tr = document.createElement("tr");
      tr.className = "spacer";
      tr.setAttribute("aria-hidden", "true");
      const td = document.createElement("td");
      td.colSpan = columns;
      tr.append(td);
      return tr;
    };
    const above = spacer(), below = spacer();
    const open = new Map(); // item -> its detail row's height (0 until measured)
    const rows = new Map(); // item -> its row, built once
    let items = new Int32Array(0);
    let opened = null; // [position, item] of the open items shown, by position
    let rowHeight = 0;
    let scheduled = false;

    function openPositions() {
      const out = [];
      if (open.size) for (let p = 0; p < items.length; p++) if (open.has(items[p])) out.push([p, items[p]]);
      return out;
    }

    // The top of the row at `position`, from the body's top.
    function offset(position) {
      let extra = 0;
      for (const [p, item] of opened) {
        if (p >= position) break;
        extra += open.get(item);
      }
      return position * rowHeight + extra;
    }

    // The position of the row at `y` from the body's top (inside a detail: its row's).
    function positionAt(y) {
      let extra = 0;
      for (const [p, item] of opened) {
        const end = (p + 1) * rowHeight + extra;
        if (y < end) break;
        if (y < end + open.get(item)) return p;
        extra += open.get(item);
      }
      return Math.floor((y - extra) / rowHeight);
    }

    function rowOf(item) {
      let tr = rows.get(item);
      if (!tr) {
        if (rows.size > 4000) rows.clear();
        rows.set(item, tr = row(item));
      }
      tr.classList.toggle("open", open.has(item));
      return tr;
    }

    function measureRow() {
      const probe = rowOf(items[0]);
      body.replaceChildren(probe);
      rowHeight = probe.getBoundingClientRect().height || 30;
    }

    function draw() {
      scheduled = false;
      if (table.hidden) return;
      if (!items.length) {
        above.style.height = below.style.height = "0px";
        body.replaceChildren(above, below);
        return;
      }
      if (!rowHeight) measureRow();
      if (!opened) opened = openPositions();
      const top = -body.getBoundingClientRect().top;
      const margin = overscan * rowHeight;
      const last = items.length - 1;
      const first = Math.max(0, Math.min(last, positionAt(Math.max(0, top - margin))));
      const end = Math.max(first, Math.min(last, positionAt(top + window.innerHeight + margin)));
      const shown = [above];
      const details = [];
      for (let p = first; p <= end; p++) {
        const item = items[p];
        shown.push(rowOf(item));
        if (open.has(item)) {
          const tr = detail(item, () => { opened = null; draw(); });
          if (tr) { shown.push(tr); details.push([item, tr]); }
        }
      }
      shown.push(below);
      body.replaceChildren(...shown);
      for (const [item, tr] of details) open.set(item, tr.getBoundingClientRect().height);
      const total = offset(items.length);
      const before = offset(first);
      above.style.height = before + "px";
      below.style.height = Math.max(0, total - offset(end + 1)) + "px";
    }

    function schedule() {
      if (scheduled) return;
      scheduled = true;
      requestAnimationFrame(draw);
    }
    window.addEventListener("scroll", schedule, { passive: true });
    window.addEventListener("resize", schedule);

    return {
      // New rows (a search, a filter, a sort): from the table's top when it was scrolled past.
      show(next) {
        items = next;
        opened = null;
        const top = table.getBoundingClientRect().top;
        if (top < 0 && !table.hidden) window.scrollBy(0, top);
        draw();
      },
      toggle(item) {
        if (open.has(item)) open.delete(item); else open.set(item, 0);
        opened = null;
        draw();
      },
      draw,
    };
  }

  cc.virtual = Object.freeze({ virtualTable });
})(coverageCollector);
