// coverage-collector report, module "format": coverage levels and percentages.
((cc) => {
  const LEVELS = ["excellent", "good", "moderate", "poor", "critical"];

  function level(percent) {
    if (percent >= 70) return "excellent";
    if (percent >= 50) return "good";
    if (percent >= 30) return "moderate";
    if (percent >= 15) return "poor";
    return "critical";
  }

  // Percentages follow results.py's rule: 100 * covered / statements as a double, shown
  // rounded to the nearest, ties to even, as Python's round() and format() and Go's %.1f do
  // (toFixed alone rounds an exact tie up: 1 of 16 statements is 6.25%, shown "6.2%").
  function fixed(value, digits) {
    const text = value.toFixed(digits);
    const scaled = value * 2 ** (digits + 1); // an odd integer exactly when `value` is a tie
    if (!Number.isInteger(scaled) || scaled % 2 === 0) return text;
    const down = Math.trunc(value * 10 ** digits); // exact on a tie
    return down % 2 === 0 ? (down / 10 ** digits).toFixed(digits) : text;
  }

  // The percent the page data carries (one decimal, as report/model.py's percent()).
  function percentOf(covered, statements) {
    return statements ? Number(fixed(100 * covered / statements, 1)) : 0;
  }

  function percentText(percent) {
    return fixed(percent, 1) + "%";
  }

  // A count with thousands separators (12,345): read at a glance in a column.
  const grouping = new Intl.NumberFormat("en-US");
  function countText(count) {
    return grouping.format(count);
  }

  cc.format = Object.freeze({ LEVELS, level, fixed, percentOf, percentText, countText });
})(coverageCollector);
