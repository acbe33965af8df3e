// coverage-collector report, module "ui": table cells, sortable tables, tabs, multi-selects.
((cc) => {
  const { $ } = cc.page;
  const { level, percentText, countText } = cc.format;

  function changeText(d) {
    if (!d) return "not in the comparison";
    return "newly covered " + d.newly + ", lost " + d.lost + ", still covered " + d.still +
      ", never covered " + d.never + ", new code " + d.newCovered + "/" + d.newCode +
      " covered, removed " + d.removed + " (statements)";
  }

  // The statements of each category of change that has any, as short text for a file or a
  // folder: "newly covered 3 · lost 1 · new code 4 of 6 covered".
  function changeSummary(d) {
    if (!d) return "not in the comparison";
    const parts = [];
    if (d.newly) parts.push("newly covered " + countText(d.newly));
    if (d.lost) parts.push("lost " + countText(d.lost));
    if (d.newCode) parts.push("new code " + countText(d.newCovered) + " of " + countText(d.newCode) + " covered");
    if (d.never) parts.push("never covered " + countText(d.never));
    if (d.removed) parts.push("removed " + countText(d.removed));
    return parts.length ? parts.join(" \u00b7 ") : "no change";
  }

  // Category tallies of several files added up (a folder's).
  function addChanges(total, d) {
    if (!d) return total;
    const sum = total || { newly: 0, lost: 0, still: 0, never: 0, newCovered: 0, newCode: 0, removed: 0 };
    for (const key of Object.keys(sum)) sum[key] += d[key] || 0;
    return sum;
  }

  // Folders and files of `files` as a tree whose nodes add up their files' statements and
  // changes (`diff`); a chain of folders with one sub-folder and no file is one node
  // ("a/b/c/"). The tree view and the map draw it.
  function folderTree(files) {
    const node = (name, path) => ({ name, path, dirs: new Map(), files: [], statements: 0, covered: 0, diff: null });
    const root = node("(all files)", "");
    const add = (at, f) => { at.statements += f.statements; at.covered += f.covered; at.diff = addChanges(at.diff, f.diff); };
    for (const f of files) {
      let at = root;
      add(at, f);
      for (const part of f.path.split("/").slice(0, -1)) {
        if (!at.dirs.has(part)) at.dirs.set(part, node(part + "/", at.path + part + "/"));
        at = at.dirs.get(part);
        add(at, f);
      }
      at.files.push(f);
    }
    const merge = (at) => {
      while (at.dirs.size === 1 && !at.files.length && at !== root) {
        const [sub] = at.dirs.values();
        sub.name = at.name + sub.name;
        at = sub;
      }
      at.dirs = new Map([...at.dirs].map(([key, sub]) => [key, merge(sub)]));
      return at;
    };
    return merge(root);
  }

  // The change in points, signed and coloured, its categories as a tooltip.
  function deltaCell(item) {
    const td = cell(item.deltaText, "num delta" + (item.direction ? " " + item.direction : ""));
    td.title = changeText(item.diff);
    return td;
  }

  // A multi-select with its own search box: `root` gets a button and a panel of checkboxes.
  // Returns `chosen`, the live set of chosen values (empty: no filter), and `choose(values)`,
  // which checks exactly `values` (those it offers) without calling `onChange`.
  function multiSelect(root, label, values, onChange) {
    const chosen = new Set();
    const boxes = new Map();
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
      boxes.set(value, box);
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
    search.setAttribute("aria-label", "Filter " + label.toLowerCase());
    button.setAttribute("aria-haspopup", "true");
    const show = (open) => { panel.hidden = !open; button.setAttribute("aria-expanded", String(open)); };
    show(false);
    button.addEventListener("click", () => { show(panel.hidden); if (!panel.hidden) search.focus(); });
    document.addEventListener("click", (event) => { if (!root.contains(event.target)) show(false); });
    document.addEventListener("keydown", (event) => { if (event.key === "Escape") show(false); });
    caption();
    root.append(button, panel);
    const choose = (wanted) => {
      chosen.clear();
      for (const [value, box] of boxes) {
        box.checked = wanted.includes(value);
        if (box.checked) chosen.add(value);
      }
      caption();
    };
    return { chosen, choose };
  }

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  // A path that never wraps: when too long for its column, its directory is cut short in
  // the middle (CSS: .path .head ellipsis) and its file name stays; the whole path is the
  // cell's tooltip, and shows in full while its row has the focus.
  function pathCell(path) {
    const td = cell("", "path");
    td.title = path;
    const cut = path.lastIndexOf("/") + 1;
    const head = document.createElement("span");
    head.className = "head";
    head.textContent = path.slice(0, cut);
    // room for the name: 0.62em a character is wider than most of the font's letters
    head.style.maxWidth = "calc(100% - " + (0.62 * (path.length - cut) + 0.3).toFixed(2) + "em)";
    td.append(head, document.createTextNode(path.slice(cut)));
    return td;
  }

  // A count, right-aligned with thousands separators.
  function countCell(count) {
    return cell(countText(count), "num");
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

  // Sortable headers: click a column (or Tab to it and press Enter or Space) to sort, again
  // to reverse.
  function sortable(table, state, rerender) {
    for (const th of table.querySelectorAll("th[data-key]")) {
      th.tabIndex = 0;
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
    for (const nav of document.querySelectorAll("nav.tabs")) nav.setAttribute("role", "tablist");
    for (const button of document.querySelectorAll("nav.tabs button")) {
      button.setAttribute("role", "tab");
      button.setAttribute("aria-selected", String(button.classList.contains("active")));
      button.addEventListener("click", () => showTab(button.dataset.tab, onShow));
    }
  }

  function showTab(name, onShow) {
    for (const button of document.querySelectorAll("nav.tabs button")) {
      button.classList.toggle("active", button.dataset.tab === name);
      button.setAttribute("aria-selected", String(button.dataset.tab === name));
    }
    for (const view of document.querySelectorAll("[data-view]")) view.hidden = view.dataset.view !== name;
    if (onShow) onShow(name);
  }

  // A table of a few hundred rows, sortable by its headers: returns show(items), which draws
  // `items` (one row each, a cell per column) in the table's sort.
  function simpleTable(table, columns, state) {
    let items = [];
    const render = () => {
      const body = document.createDocumentFragment();
      for (const item of [...items].sort(compare(state.key, state.direction))) {
        const tr = document.createElement("tr");
        tr.className = "row";
        tr.tabIndex = 0;
        tr.append(...columns.map((column) => column(item)));
        body.append(tr);
      }
      table.querySelector("tbody").replaceChildren(body);
    };
    sortable(table, state, render);
    return (next) => { items = next; render(); };
  }

  // What a click does on a row, a sort header or a tree entry, Enter or Space does on it
  // when it has the keyboard focus (each is reached with Tab: they carry tabIndex 0).
  const ACTIVATED = "tr.row, th[data-key], .tree .leaf";

  function activateWithKeys() {
    document.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" && event.key !== " ") return;
      const target = event.target;
      if (!(target instanceof Element) || !target.matches(ACTIVATED)) return;
      event.preventDefault();
      target.click();
    });
  }

  // `?`: a panel listing the page's keys (`keys`: [key, what it does]); Escape closes it.
  function shortcutsHelp(keys) {
    const panel = document.createElement("div");
    panel.className = "shortcuts";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", "Keyboard shortcuts");
    panel.hidden = true;
    const title = document.createElement("h2");
    title.textContent = "Keyboard shortcuts";
    const list = document.createElement("dl");
    for (const [key, what] of [...keys, ["Tab, Enter", "reach and open rows, sort headers, tabs"], ["?", "show or hide this list"], ["Escape", "close it"]]) {
      const dt = document.createElement("dt");
      const kbd = document.createElement("kbd");
      kbd.textContent = key;
      dt.append(kbd);
      const dd = document.createElement("dd");
      dd.textContent = what;
      list.append(dt, dd);
    }
    panel.append(title, list);
    document.body.append(panel);
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") panel.hidden = true;
      if (event.key !== "?" || document.activeElement.tagName === "INPUT") return;
      panel.hidden = !panel.hidden;
    });
  }

  // Load a data file (a script: the report opens from file://, where fetch is refused); when
  // it is missing, say so in the viewer.
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

  function focusSearchOnSlash() {
    activateWithKeys();
    document.addEventListener("keydown", (event) => {
      if (event.key === "/" && document.activeElement.tagName !== "INPUT") {
        event.preventDefault();
        $("#search").focus();
      }
    });
  }

  cc.ui = Object.freeze({
    changeSummary, addChanges, folderTree, cell, pathCell, countCell, coverageCell, deltaCell, multiSelect, compare, sortable, tabs, showTab,
    simpleTable, focusSearchOnSlash, shortcutsHelp, loadScript,
  });
})(coverageCollector);
