// coverage-collector report, module "page": the page's data.
// Every string from the cluster is inserted with textContent; only the annotated source
// lines (escaped by the generator) are inserted as HTML.
//
// The report's script is these report-*.js modules, written one after the other into
// static/report.js by `cluster render` (report/render.py, SCRIPT_MODULES), after the
// positions of the positional rows (report/fields.py). Each module adds one frozen object
// to the one global, `coverageCollector`; the only other globals are the functions the data
// files call (ccFiles, ccSource, ccFunctions: report-binary.js; ccOwners, ccWho: report-who.js).
((cc) => {
  const data = JSON.parse(document.getElementById("cc-data").textContent);
  cc.page = Object.freeze({
    // index: owners, binaries, namespaces; a binary page: binary, owners, files
    data,
    // With a baseline (render --baseline): each row has base/delta/deltaText/direction/changed
    // and `diff`, its statements per category; source lines have a category letter each.
    baseline: data.baseline || null,
    $: (selector) => document.querySelector(selector),
  });
})(coverageCollector);
