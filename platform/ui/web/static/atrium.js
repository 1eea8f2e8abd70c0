// Atrium's own behaviour on top of htmx: nothing here is needed for a page to work.
document.addEventListener("htmx:configRequest", (event) => {
  const token = document.querySelector('meta[name="csrf-token"]');
  if (token) event.detail.headers["X-CSRF-Token"] = token.content;
});

// The bulk bar's "Export to Excel": the ticked rows' ids in the export's address (the boxes belong
// to the bulk form, which posts; an export is a GET the browser downloads).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-export-ticked]");
  if (!button) return;
  const ids = [...document.querySelectorAll("input.bulk-pick:checked")].map((box) => box.value);
  if (!ids.length) return;
  const url = new URL(button.dataset.exportTicked, window.location.href);
  ids.forEach((id) => url.searchParams.append("ids", id));
  window.location.assign(url.toString());
});
