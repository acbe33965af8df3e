// coverage-collector report, module "owners": the index's owners, as columns.
// The data files (data/index/owners-<n>.js and details-<n>.js, report/ownertable.py) call
// add() and addDetails(); table() joins the chunks once into typed arrays, and query() answers
// a search, the filters and a sort on those arrays: an Int32Array of row numbers in the order
// shown. Nothing here touches the DOM but the scripts it loads.
((cc) => {
  const { data, baseline } = cc.page;
  const { LEVELS, level } = cc.format;
  const meta = data.ownerTable || null; // only the index has owners as columns
  const chunks = [];
  const details = new Map(); // first row of a detail chunk -> its columns
  const waiting = new Map(); // first row of a detail chunk -> callbacks
  const collator = new Intl.Collator();
  let joined = null;

  function add(columns) {
    chunks.push(columns);
  }

  function addDetails(columns) {
    details.set(columns.first, columns);
    const callbacks = waiting.get(columns.first) || [];
    waiting.delete(columns.first);
    for (const callback of callbacks) callback();
  }

  // Whether every row file arrived (a file missing: the report is incomplete).
  function complete() {
    return meta !== null && chunks.length === meta.chunks;
  }

  // One column of every chunk, as one array (`column(chunk)` picks it).
  function numbers(column, Type) {
    const out = new Type(meta.rows);
    for (const c of chunks) out.set(column(c), c.first);
    return out;
  }

  function values(pick) {
    const out = new Array(meta.rows);
    for (const c of chunks) {
      const column = pick(c);
      for (let i = 0; i < column.length; i++) out[c.first + i] = column[i];
    }
    return out;
  }

  // The rows, joined once: numbers in typed arrays, what repeats as dictionary indexes.
  function table() {
    if (joined) return joined;
    chunks.sort((a, b) => a.first - b.first);
    const words = meta.dictionaries;
    const t = {
      n: meta.rows, words,
      namespace: numbers((c) => c.namespace, Int32Array), type: numbers((c) => c.type, Int32Array),
      owner: values((c) => c.owner), id: numbers((c) => c.id, Int32Array), binaryName: numbers((c) => c.binaryName, Int32Array),
      binary: numbers((c) => c.binary, Int32Array), pods: numbers((c) => c.pods, Int32Array),
      containers: values((c) => c.containers), statements: numbers((c) => c.statements, Float64Array),
      covered: numbers((c) => c.covered, Float64Array), percent: numbers((c) => c.percent, Float64Array),
      errors: numbers((c) => c.errors, Int32Array), clusters: values((c) => c.clusters),
    };
    if (baseline) {
      Object.assign(t, {
        base: values((c) => c.base), baseText: values((c) => c.baseText), delta: numbers((c) => c.delta, Float64Array),
        deltaText: values((c) => c.deltaText), direction: values((c) => c.direction),
        changed: numbers((c) => c.changed, Uint8Array), diff: values((c) => c.diff),
      });
    }
    // each binary once: a dense number per binary, its numbers and source
    t.binaryIds = Object.keys(data.binaries);
    const denseOf = new Map(t.binaryIds.map((id, i) => [Number(id), i]));
    const sources = [];
    const sourceIndex = new Map();
    t.binaryStatements = new Float64Array(t.binaryIds.length);
    t.binaryCovered = new Float64Array(t.binaryIds.length);
    t.binaryLevel = new Uint8Array(t.binaryIds.length);
    t.binarySource = new Int32Array(t.binaryIds.length);
    t.binaryIds.forEach((id, i) => {
      const b = data.binaries[id];
      const source = b.source || "(none)";
      if (!sourceIndex.has(source)) { sourceIndex.set(source, sources.length); sources.push(source); }
      t.binaryStatements[i] = b.statements;
      t.binaryCovered[i] = b.covered;
      t.binaryLevel[i] = LEVELS.indexOf(level(b.percent));
      t.binarySource[i] = sourceIndex.get(source);
    });
    t.sources = sources;
    t.dense = new Int32Array(t.n);
    t.binaryOwners = new Int32Array(t.binaryIds.length); // how many owners run each binary
    t.level = new Uint8Array(t.n);
    t.search = new Array(t.n);
    const namespaces = words.namespace, binaryNames = words.binaryName;
    for (let i = 0; i < t.n; i++) {
      t.dense[i] = denseOf.get(t.binary[i]);
      t.binaryOwners[t.dense[i]]++;
      t.level[i] = LEVELS.indexOf(level(t.percent[i]));
      // what the search box looks in, lower-cased once
      t.search[i] = [namespaces[t.namespace[i]], t.owner[i], binaryNames[t.binaryName[i]], ...t.containers[i]]
        .join("\n").toLowerCase();
    }
    t.keys = new Map(); // column -> its sort key per row
    t.sorted = new Map(); // column and direction -> row numbers in that order
    joined = t;
    return t;
  }

  // The indexes of `strings` in the order localeCompare gives them (ties: by index). Sorted
  // by code point first, which is fast and for most names already the collation's order, then
  // by the collator, whose sort (TimSort) takes about one comparison per string on an ordered
  // run: 10,000 owner names in 15 ms instead of 60.
  function collated(strings) {
    const order = strings.map((_, i) => i);
    order.sort((a, b) => (strings[a] < strings[b] ? -1 : strings[a] > strings[b] ? 1 : a - b));
    return order.sort((a, b) => collator.compare(strings[a], strings[b]) || a - b);
  }

  // Ranks of a dictionary's strings in the order localeCompare gives them, per row.
  function dictionaryRanks(words, codes) {
    const order = collated(words);
    const rank = new Int32Array(words.length);
    order.forEach((code, r) => { rank[code] = r; });
    const out = new Float64Array(codes.length);
    for (let i = 0; i < codes.length; i++) out[i] = rank[codes[i]];
    return out;
  }

  function stringRanks(strings) {
    const order = collated(strings);
    const out = new Float64Array(strings.length);
    let rank = 0;
    for (let k = 0; k < order.length; k++) {
      if (k > 0 && strings[order[k]] !== strings[order[k - 1]]) rank = k;
      out[order[k]] = rank;
    }
    return out;
  }

  // The value a column sorts on, per row (text columns: the rank of the text).
  function sortKey(t, key) {
    switch (key) {
      case "namespace": return dictionaryRanks(t.words.namespace, t.namespace);
      case "type": return dictionaryRanks(t.words.type, t.type);
      case "binary": return dictionaryRanks(t.words.binaryName, t.binaryName);
      case "owner": return stringRanks(t.owner);
      case "clusters": return Float64Array.from(t.clusters, (c) => c.length);
      case "base": return Float64Array.from(t.base, (b) => b || 0);
      default: return Float64Array.from(t[key]);
    }
  }

  // Row numbers sorted by `key`, ties in the rows' own order (either direction), computed
  // once per column and direction.
  function order(t, key, direction) {
    const name = key + (direction > 0 ? "+" : "-");
    let sorted = t.sorted.get(name);
    if (!sorted) {
      if (!t.keys.has(key)) t.keys.set(key, sortKey(t, key));
      const k = t.keys.get(key);
      sorted = new Int32Array(t.n);
      for (let i = 0; i < t.n; i++) sorted[i] = i;
      sorted.sort(direction > 0 ? (a, b) => k[a] - k[b] || a - b : (a, b) => k[b] - k[a] || a - b);
      t.sorted.set(name, sorted);
    }
    return sorted;
  }

  // A lookup of the dictionary codes whose value `chosen` holds (null: no filter).
  function allowed(chosen, words) {
    if (!chosen.size) return null;
    const out = new Uint8Array(words.length);
    words.forEach((word, i) => { out[i] = chosen.has(word) ? 1 : 0; });
    return out;
  }

  // The rows a search and the filters keep, in the order of the sort: `criteria` has
  // query, hideTests, hideTestBinaries, changedOnly and the multi-selects' chosen sets
  // (namespace, type, level, source, cluster).
  function query(criteria, key, direction) {
    const t = table();
    const sorted = order(t, key, direction);
    const q = criteria.query;
    const testNamespace = criteria.hideTests ? t.words.namespaceTest : null;
    const testBinary = criteria.hideTestBinaries ? t.words.binaryNameTest : null;
    const changed = criteria.changedOnly && baseline ? t.changed : null;
    const ns = allowed(criteria.namespace, t.words.namespace);
    const types = allowed(criteria.type, t.words.type);
    const levels = allowed(criteria.level, LEVELS);
    const sourceOk = allowed(criteria.source, t.sources);
    const clusters = allowed(criteria.cluster, t.words.cluster);
    const out = new Int32Array(t.n);
    let m = 0;
    for (let k = 0; k < t.n; k++) {
      const i = sorted[k];
      if (testNamespace && testNamespace[t.namespace[i]]) continue;
      if (testBinary && testBinary[t.binaryName[i]]) continue;
      if (changed && !changed[i]) continue;
      if (ns && !ns[t.namespace[i]]) continue;
      if (types && !types[t.type[i]]) continue;
      if (levels && !levels[t.level[i]]) continue;
      if (sourceOk && !sourceOk[t.binarySource[t.dense[i]]]) continue;
      if (clusters && !t.clusters[i].some((c) => clusters[c])) continue;
      if (q && !t.search[i].includes(q)) continue;
      out[m++] = i;
    }
    return out.subarray(0, m);
  }

  // What the cards show for `rows`: each binary counted once.
  // What the cards and the tier distribution show for `rows`: owners and binaries (each
  // binary once), their statements, and how many owners and binaries fall in each tier.
  function stats(rows) {
    const t = table();
    const seen = new Uint8Array(t.binaryIds.length);
    const ownerTiers = new Array(LEVELS.length).fill(0), binaryTiers = new Array(LEVELS.length).fill(0);
    let binaries = 0, statements = 0, covered = 0;
    for (let k = 0; k < rows.length; k++) {
      ownerTiers[t.level[rows[k]]]++;
      const b = t.dense[rows[k]];
      if (seen[b]) continue;
      seen[b] = 1;
      binaries++;
      binaryTiers[t.binaryLevel[b]]++;
      statements += t.binaryStatements[b];
      covered += t.binaryCovered[b];
    }
    return { owners: rows.length, binaries, statements, covered, seen, ownerTiers, binaryTiers };
  }

  // The details of `row` (pods, hosts, images, ...), or null while their file loads;
  // `ready` is called once it arrived.
  function detailOf(row, ready) {
    const list = meta.details;
    let lo = 0, hi = list.length - 1;
    while (lo < hi) { // the last chunk whose first row is <= row
      const mid = (lo + hi + 1) >> 1;
      if (list[mid][0] <= row) lo = mid; else hi = mid - 1;
    }
    const [first, src] = list[lo];
    const columns = details.get(first);
    if (columns) {
      const i = row - first;
      return {
        pods: columns.pods[i], hosts: columns.hosts[i], images: columns.images[i],
        instances: columns.instances[i], firstSeen: columns.firstSeen[i], lastSeen: columns.lastSeen[i],
      };
    }
    if (!waiting.has(first)) {
      waiting.set(first, []);
      const script = document.createElement("script");
      script.src = src;
      document.head.append(script);
    }
    waiting.get(first).push(ready);
    return null;
  }

  cc.owners = Object.freeze({ add, addDetails, complete, table, query, stats, detailOf });
})(coverageCollector);
