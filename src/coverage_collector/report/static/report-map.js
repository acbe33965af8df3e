// coverage-collector report, module "map": a treemap of a binary's folders and files. A
// rectangle's area is its statements, its colour its coverage tier (and its label and title
// say the tier in words); a folder zooms in, a file opens; the path above it zooms out.
// Squarified layout (Bruls, Huizing and van Wijk, 2000), drawn as SVG by this script.
((cc) => {
  const { level, percentOf, percentText, countText } = cc.format;
  const SVG = "http://www.w3.org/2000/svg";
  const LABEL_MIN_WIDTH = 56, LABEL_MIN_HEIGHT = 30, INSIDE_LEVELS = 2;

  // The children of folder `at` to draw: sub-folders and files, largest first.
  function children(at) {
    const items = [
      ...[...at.dirs.values()].map((d) => ({ folder: d, name: d.name, path: d.path, statements: d.statements, covered: d.covered })),
      ...at.files.map((f) => ({ file: f, name: f.path.split("/").pop(), path: f.path, statements: f.statements, covered: f.covered })),
    ];
    return items.filter((item) => item.statements > 0).sort((a, b) => b.statements - a.statements || (a.path < b.path ? -1 : 1));
  }

  // Place `items` (largest first) in the rectangle x, y, w, h, areas proportional to their
  // statements: rows along the shorter side, each row kept while it makes the worst aspect
  // ratio better.
  function squarify(items, x, y, w, h) {
    const total = items.reduce((sum, item) => sum + item.statements, 0);
    const placed = [];
    if (!total || w <= 0 || h <= 0) return placed;
    const scale = (w * h) / total;
    let rest = items.map((item) => ({ item, area: item.statements * scale }));
    const worst = (row, side) => {
      const sum = row.reduce((s, r) => s + r.area, 0);
      let max = 0;
      for (const r of row) max = Math.max(max, (side * side * r.area) / (sum * sum), (sum * sum) / (side * side * r.area));
      return max;
    };
    while (rest.length) {
      const side = Math.min(w, h);
      const row = [rest[0]];
      let k = 1;
      while (k < rest.length && worst([...row, rest[k]], side) <= worst(row, side)) row.push(rest[k++]);
      rest = rest.slice(k);
      const sum = row.reduce((s, r) => s + r.area, 0);
      if (w >= h) { // a column on the left
        const width = rest.length ? sum / h : w;
        let at = y;
        row.forEach((r, i) => {
          const height = i === row.length - 1 ? y + h - at : r.area / width;
          placed.push({ item: r.item, x, y: at, w: width, h: height });
          at += height;
        });
        x += width; w -= width;
      } else { // a row on top
        const height = rest.length ? sum / w : h;
        let at = x;
        row.forEach((r, i) => {
          const width = i === row.length - 1 ? x + w - at : r.area / height;
          placed.push({ item: r.item, x: at, y, w: width, h: height });
          at += width;
        });
        y += height; h -= height;
      }
    }
    return placed;
  }

  function element(name, attributes) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    return node;
  }

  // Draw the map of `files` into `container`; `open(file)` opens a file, `onZoom(path)` is
  // told the folder shown ("" for all), `start` is the folder to show first.
  function build(container, files, open, onZoom, start) {
    // a map of one rectangle says nothing: the map starts where the folders first divide
    let root = cc.ui.folderTree(files);
    for (let only = children(root); only.length === 1 && only[0].folder; only = children(root)) root = only[0].folder;
    const find = (path) => {
      let at = root;
      while (at.path !== path) {
        const next = [...at.dirs.values()].find((d) => path.startsWith(d.path));
        if (!next) return root;
        at = next;
      }
      return at;
    };
    let current = find(start || root.path);
    const crumbs = document.createElement("nav");
    crumbs.className = "map-path";
    crumbs.setAttribute("aria-label", "Folder shown in the map");
    const figure = document.createElement("div");
    figure.className = "map-area";
    container.replaceChildren(crumbs, figure);

    const zoom = (at) => { current = at; draw(); onZoom(at === root ? "" : at.path); };
    const parents = new Map();
    const index = (at) => { for (const sub of at.dirs.values()) { parents.set(sub, at); index(sub); } };
    index(root);
    const parentOf = (at) => parents.get(at) || root;
    const draw = () => {
      crumbs.replaceChildren();
      const trail = [];
      for (let at = current; at; at = at === root ? null : parentOf(at)) trail.unshift(at);
      trail.forEach((at, i) => {
        if (i) crumbs.append(" \u203a ");
        const name = at.path || "(all files)";
        if (at === current) {
          const here = document.createElement("span");
          here.textContent = name;
          here.setAttribute("aria-current", "location");
          crumbs.append(here);
          return;
        }
        const up = document.createElement("button");
        up.type = "button";
        up.textContent = name;
        up.addEventListener("click", () => zoom(at));
        crumbs.append(up);
      });
      const width = Math.max(figure.clientWidth, 200), height = Math.max(Math.round(width * 0.55), 240);
      const svg = element("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "group" });
      svg.setAttribute("aria-label", "Treemap of " + (current.path || "all files") + ": area is statements, colour the coverage tier");
      // the labels lie over the cells in a layer of their own, out of the accessibility tree:
      // each cell's name says all they say
      const labels = element("g", { class: "labels", "aria-hidden": "true" });
      for (const box of squarify(children(current), 0, 0, width, height)) {
        const [group, label] = cell(box);
        svg.append(group);
        if (label) labels.append(label);
      }
      svg.append(labels);
      figure.replaceChildren(svg);
    };
    const cell = (box) => {
      const { item } = box;
      const pct = percentOf(item.covered, item.statements);
      const tier = level(pct);
      const words = (item.folder ? "folder " : "file ") + item.path + ": " + percentText(pct) + " covered (" + tier + "), " +
        countText(item.covered) + " of " + countText(item.statements) + " statements" + (item.folder ? "; Enter zooms in" : "; Enter opens it");
      const group = element("g", { class: "map-cell " + tier + (item.folder ? " folder" : " file"), tabindex: 0, role: "button" });
      group.setAttribute("aria-label", words);
      group.dataset.path = item.path;
      group.dataset.statements = item.statements;
      const title = element("title", {});
      title.textContent = words;
      group.append(title);
      const frame = element("rect", { class: "frame", x: box.x, y: box.y, width: Math.max(box.w, 0), height: Math.max(box.h, 0) });
      if (item.folder) group.append(mosaic(item.folder, box, INSIDE_LEVELS));
      group.append(frame);
      let label = null;
      if (box.w >= LABEL_MIN_WIDTH && box.h >= LABEL_MIN_HEIGHT) {
        const name = fit(item.name, box.w - 8);
        const long = percentText(pct) + " " + tier, figure = long.length * 7 <= box.w - 8 ? long : percentText(pct);
        label = element("g", { class: "map-label" });
        label.append(
          element("rect", { x: box.x + 2, y: box.y + 2, width: Math.min(box.w - 4, 8 + 7 * Math.max(name.length, figure.length)), height: 28 }),
          text(name, box.x + 5, box.y + 14, ""), text(figure, box.x + 5, box.y + 27, "figure"));
      }
      const act = () => (item.folder ? zoom(item.folder) : open(item.file));
      group.addEventListener("click", act);
      group.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); act(); }
      });
      return [group, label];
    };
    draw();
    if (typeof ResizeObserver === "function") {
      let width = figure.clientWidth;
      new ResizeObserver(() => { if (figure.clientWidth && figure.clientWidth !== width) { width = figure.clientWidth; draw(); } }).observe(figure);
    }
    return { redraw: draw };
  }

  // The inside of a folder's rectangle: its sub-folders and files, tiling it by statements
  // and coloured by tier, `levels` deep (a picture only: the folder's rectangle is the
  // control, and says what it holds in words).
  function mosaic(folder, box, levels) {
    const group = element("g", { class: "inside", "aria-hidden": "true" });
    for (const inner of squarify(children(folder), box.x, box.y, box.w, box.h)) {
      const tier = level(percentOf(inner.item.covered, inner.item.statements));
      if (inner.item.folder && levels > 1 && inner.w > 24 && inner.h > 24) {
        const sub = mosaic(inner.item.folder, inner, levels - 1);
        sub.setAttribute("class", "inside " + tier);
        group.append(sub);
      } else {
        group.append(element("rect", { class: tier, x: inner.x, y: inner.y, width: Math.max(inner.w, 0), height: Math.max(inner.h, 0) }));
      }
    }
    return group;
  }

  function text(content, x, y, kind) {
    const node = element("text", { x, y });
    if (kind) node.setAttribute("class", kind);
    node.textContent = content;
    return node;
  }

  // `text` cut to about `width` pixels (7 px a character), the end kept: a path's file name.
  function fit(text, width) {
    const most = Math.max(Math.floor(width / 7), 3);
    return text.length <= most ? text : "..." + text.slice(text.length - most + 3);
  }

  cc.map = Object.freeze({ build, squarify });
})(coverageCollector);
