// The studio's layout editor: sections and fields arranged by drag and drop (SortableJS) or with the
// arrow buttons (the keyboard's way). Both only rewrite what the form posts: a table's position numbers
// (10, 20, ... in the order shown) and each chip list's comma-separated input, so the server and its
// review step see the same form as when the numbers and names are typed.
(function () {
  "use strict";
  function syncList(list) {
    const name = list.dataset.input;
    if (!name) return;
    const input = list.closest("form").querySelector("input[name='" + name + "']");
    if (!input) return;
    input.value = Array.prototype.map.call(list.querySelectorAll(":scope > li"), function (chip) {
      return chip.dataset.value;
    }).join(", ");
  }
  function syncRows(body) {
    body.querySelectorAll(":scope > tr").forEach(function (row, index) {
      const position = row.querySelector("input[name$='-position']");
      if (position) position.value = String((index + 1) * 10);
    });
  }
  function syncAll(form) {
    form.querySelectorAll("ul.chips[data-input]").forEach(syncList);
  }
  // Typing in a list's input shows the names typed as chips again (chips of known names are reused).
  function fromInput(input) {
    const list = input.closest("form").querySelector("ul.chips[data-input='" + input.name + "']");
    if (!list) return;
    const form = input.closest("form");
    const names = input.value.split(/[,，\s]+/).filter(Boolean);
    const pool = form.querySelector(".pool ul.chips[data-group='" + list.dataset.group + "']");
    list.querySelectorAll(":scope > li").forEach(function (chip) {
      if (names.indexOf(chip.dataset.value) < 0 && pool) pool.appendChild(chip);
    });
    names.forEach(function (name) {
      let chip = null;
      form.querySelectorAll("ul.chips[data-group='" + list.dataset.group + "'] > li").forEach(function (each) {
        if (each.dataset.value === name && !chip) chip = each;
      });
      if (chip) {
        const from = chip.parentElement;
        list.appendChild(chip);
        if (from !== list) syncList(from);
      }
    });
  }
  function start(form) {
    if (typeof Sortable === "undefined") return;  // without the library the arrow buttons still work
    form.querySelectorAll("ul.chips").forEach(function (list) {
      Sortable.create(list, {
        group: list.dataset.group, animation: 120, draggable: "li",
        onSort: function () { syncAll(form); },
      });
    });
    form.querySelectorAll("tbody.sortable-rows").forEach(function (body) {
      Sortable.create(body, {handle: ".row-grip", animation: 120, onSort: function () { syncRows(body); }});
    });
  }
  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-move], button[data-move-row]");
    if (!button || !button.closest("form.layout-form")) return;
    const item = button.closest(button.dataset.moveRow ? "tr" : "li");
    const step = Number(button.dataset.moveRow || button.dataset.move);
    const other = step < 0 ? item.previousElementSibling : item.nextElementSibling;
    if (!other) return;
    item.parentElement.insertBefore(item, step < 0 ? other : other.nextElementSibling);
    if (button.dataset.moveRow) syncRows(item.parentElement); else syncList(item.parentElement);
    button.focus();
  });
  document.addEventListener("change", function (event) {
    if (event.target.closest("form.layout-form") && event.target.matches("input")) fromInput(event.target);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.layout-form").forEach(start);
  });
})();
