// The header's global search (_search_box.html): "/" focuses the box; while it or its results have
// the focus, ArrowDown/ArrowUp walk the results and Enter opens the one picked (with none picked,
// Enter submits to the /search page); Escape closes the list. HTMX fetches the results as you type.
(function () {
  "use strict";
  function box() { return document.querySelector("[data-global-search]"); }
  function results(form) { return Array.from(form.querySelectorAll("[data-search-result]")); }
  function pick(form, index) {
    const items = results(form);
    items.forEach(function (item, i) {
      item.classList.toggle("active", i === index);
      item.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    form.dataset.active = String(index);
    if (items[index]) { items[index].scrollIntoView({block: "nearest"}); }
  }
  document.addEventListener("keydown", function (event) {
    const form = box();
    if (!form) { return; }
    const input = form.querySelector("input[name=q]");
    const typing = event.target.closest && event.target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      input.focus();
      input.select();
      return;
    }
    if (!form.contains(event.target)) { return; }
    const items = results(form);
    let active = Number(form.dataset.active === undefined ? -1 : form.dataset.active);
    if (event.key === "ArrowDown" && items.length) {
      event.preventDefault();
      pick(form, Math.min(active + 1, items.length - 1));
    } else if (event.key === "ArrowUp" && items.length) {
      event.preventDefault();
      pick(form, Math.max(active - 1, 0));
    } else if (event.key === "Enter" && items[active]) {
      event.preventDefault();
      window.location.href = items[active].getAttribute("href");
    } else if (event.key === "Escape") {
      form.querySelector(".global-search-results").innerHTML = "";
      delete form.dataset.active;
      input.focus();
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    const form = box();
    if (form && form.contains(event.target)) { delete form.dataset.active; }
  });
  document.addEventListener("click", function (event) {
    const form = box();
    if (form && !form.contains(event.target)) {
      form.querySelector(".global-search-results").innerHTML = "";
    }
  });
})();
