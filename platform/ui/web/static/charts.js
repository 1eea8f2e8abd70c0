// Charts of report pages and dashboard widgets: ECharts draws each [data-chart] element from the
// JSON the server wrote into it (an option with the report's own numbers and labels; no code).
(function () {
  "use strict";
  const SYMBOLS = { CNY: "¥", USD: "$", EUR: "€", GBP: "£", JPY: "¥" };
  const PALETTE = ["#0b63ce", "#2da44e", "#d4a72c", "#8250df", "#e16f24", "#cf222e", "#1b7c83", "#bf3989", "#57606a", "#6f9be8"];

  function compact(value, locale) {
    const n = Math.abs(value);
    if (locale === "zh") {
      if (n >= 1e8) return trim(value / 1e8) + "亿";
      if (n >= 1e4) return trim(value / 1e4) + "万";
      return trim(value);
    }
    if (n >= 1e9) return trim(value / 1e9) + "B";
    if (n >= 1e6) return trim(value / 1e6) + "M";
    if (n >= 1e3) return trim(value / 1e3) + "K";
    return trim(value);
  }
  function trim(value) { return String(Math.round(value * 10) / 10); }

  function formatter(spec, full) {
    const locale = spec.locale === "zh" ? "zh-CN" : "en-US";
    const symbol = SYMBOLS[spec.currency] || "";
    return function (value) {
      if (value === null || value === undefined || value === "-" || isNaN(value)) return "—";
      if (spec.format === "percent") return (Math.round(value * 10) / 10) + "%";
      if (!full) return (spec.format === "money" ? symbol : "") + compact(value, spec.locale);
      const digits = spec.format === "money" ? 2 : (Number.isInteger(value) ? 0 : 2);
      return (spec.format === "money" ? symbol : "") +
        Number(value).toLocaleString(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits });
    };
  }

  function prepare(spec) {
    const option = spec.option;
    const short = formatter(spec, false), full = formatter(spec, true);
    option.color = PALETTE;
    option.animation = false;  // a chart is read, not watched; screenshots stay the same
    option.textStyle = { fontFamily: getComputedStyle(document.body).fontFamily };
    if (option.tooltip) option.tooltip.valueFormatter = full;
    [].concat(option.xAxis || [], option.yAxis || []).forEach(function (axis) {
      if (axis.type === "value") axis.axisLabel = Object.assign({}, axis.axisLabel, { formatter: short });
    });
    (option.series || []).forEach(function (series) {
      if (series.type === "funnel") {
        const rates = spec.conversion || [];
        series.label = Object.assign({}, series.label, {
          formatter: function (p) {
            const rate = rates[p.dataIndex];
            return p.name + "  " + full(p.value) + (rate === null || rate === undefined || p.dataIndex === 0 ? "" : "  (" + (Math.round(rate * 10) / 10) + "%)");
          }
        });
      }
    });
    return option;
  }

  function draw(root) {
    if (!window.echarts) return;
    root.querySelectorAll("[data-chart]").forEach(function (element) {
      if (element._chart) return;
      const spec = JSON.parse(element.dataset.chart);
      const chart = window.echarts.init(element, null, { renderer: "svg" });
      chart.setOption(prepare(spec));
      element._chart = chart;
    });
  }

  function dispose(root) {
    root.querySelectorAll("[data-chart]").forEach(function (element) {
      if (element._chart) { element._chart.dispose(); element._chart = null; }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    draw(document);
    if (window.htmx) {
      htmx.onLoad(function (element) { draw(element); });
      document.body.addEventListener("htmx:beforeSwap", function (event) { dispose(event.detail.target); });
    }
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
      select.addEventListener("change", function () { select.form.requestSubmit(); });
    });
    document.querySelectorAll("[data-refresh]").forEach(function (button) {
      button.addEventListener("click", function () { htmx.trigger(document.body, "atrium:refresh"); });
    });
  });
  window.addEventListener("resize", function () {
    document.querySelectorAll("[data-chart]").forEach(function (element) { if (element._chart) element._chart.resize(); });
  });
})();
