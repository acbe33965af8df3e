// coverage-collector report, module "main": start the page.
((cc) => {
  if (document.body.dataset.page === "index") cc.index.init(); else cc.binary.init();
})(coverageCollector);
