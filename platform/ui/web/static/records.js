// Reference pickers on record pages. Without this file a picker still works: the typed text is
// sent as <field>__q and the server matches it by title.
(function () {
  // On a phone the filters start folded unless one is in use (they are open without JavaScript).
  document.addEventListener("DOMContentLoaded", function () {
    if (window.matchMedia("(max-width: 900px)").matches) {
      document.querySelectorAll("details.filters[data-fold-narrow]").forEach(function (d) { d.open = false; });
    }
  });

  function pickerOf(element) { return element.closest(".picker"); }

  document.addEventListener("click", function (event) {
    var choice = event.target.closest(".picker .pick");
    if (!choice) return;
    event.preventDefault();
    var picker = pickerOf(choice);
    var value = picker.querySelector(".picker-value");
    var text = picker.querySelector(".picker-text");
    value.value = choice.dataset.id;
    text.value = choice.dataset.title;
    picker.querySelector(".picker-list").replaceChildren();
    value.dispatchEvent(new Event("change", { bubbles: true }));
    picker.dispatchEvent(new Event("picked"));
    text.focus();
  });

  // Typing again after a choice means choosing anew; emptying the box clears the choice.
  document.addEventListener("input", function (event) {
    if (!event.target.matches(".picker-text")) return;
    var value = pickerOf(event.target).querySelector(".picker-value");
    if (value.value) value.value = "";
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && event.target.closest(".picker")) {
      pickerOf(event.target).querySelector(".picker-list").replaceChildren();
    }
    if (event.key === "ArrowDown" && event.target.matches(".picker-text")) {
      var first = pickerOf(event.target).querySelector(".pick");
      if (first) { event.preventDefault(); first.focus(); }
    }
  });

  // Close a picker's list when the focus leaves it.
  document.addEventListener("focusout", function (event) {
    var picker = event.target.closest && event.target.closest(".picker");
    if (!picker || (event.relatedTarget && picker.contains(event.relatedTarget))) return;
    setTimeout(function () {
      if (!picker.contains(document.activeElement)) picker.querySelector(".picker-list").replaceChildren();
    }, 200);
  });
})();

// Line grids (a parent's child rows on its form): Enter in a cell adds a line (the server redraws
// the form with the new row), and the new row's first cell takes the focus. Tab moves from cell
// to cell as in any form.
(function () {
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.isComposing) return;
    var cell = event.target.closest && event.target.closest(".line-grid td.cell");
    if (!cell || event.target.matches("textarea, button")) return;
    if (event.target.matches(".picker-text") && cell.querySelector(".picker-list .pick")) return;
    var add = cell.closest(".line-grid").querySelector(".line-add");
    event.preventDefault();
    if (!add) return;
    // the change of the cell left behind travels with the add (one redraw, not two)
    add.focus();
    add.click();
  });

  // A changed cell redraws its row only: the formula cells, the messages, and the empty cells a
  // default fills; what the user is typing elsewhere is left alone.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var table = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!table || !table.matches || !table.matches("table.lines") || !event.detail.serverResponse) return;
    event.detail.shouldSwap = false;
    var doc = new DOMParser().parseFromString(event.detail.serverResponse, "text/html");
    table.querySelectorAll("tr.line").forEach(function (row) {
      var fresh = doc.getElementById(row.id);
      if (!fresh) return;
      row.className = fresh.className;
      row.querySelectorAll("td.cell").forEach(function (td) {
        var next = fresh.querySelector('td.cell[data-field="' + td.dataset.field + '"]');
        if (!next) return;
        td.className = next.className;
        var input = td.querySelector("input:not([type=hidden]), select");
        if (!input) { td.replaceChildren.apply(td, Array.from(next.childNodes)); return; }
        td.querySelectorAll(":scope > .error").forEach(function (e) { e.remove(); });
        next.querySelectorAll(":scope > .error").forEach(function (e) { td.appendChild(e); });
        var given = input.id ? next.querySelector("#" + CSS.escape(input.id)) : null;
        if (given && input !== document.activeElement && !input.value && given.value) input.value = given.value;
      });
    });
    // The record's own figures that follow its lines (roll-ups, the formulas and conditions
    // reading them): each section's visibility, each field's visibility, required marker, shown
    // value (a read-only field) and messages. The inputs keep what the user typed.
    var body = table.closest("#form-body");
    if (!body) return;
    var fresh = doc.querySelectorAll("#form-body > fieldset.section:not(.line-grid)");
    body.querySelectorAll(":scope > fieldset.section:not(.line-grid)").forEach(function (section, i) {
      var next = fresh[i];
      if (!next) return;
      section.hidden = next.hidden;
      section.disabled = next.disabled;
    });
    body.querySelectorAll(":scope > fieldset.section:not(.line-grid) .field[id]").forEach(function (field) {
      var next = doc.getElementById(field.id);
      if (!next) return;
      field.className = next.className;
      field.hidden = next.hidden;
      var label = field.querySelector(":scope > label"), nextLabel = next.querySelector(":scope > label");
      if (label && nextLabel) label.replaceChildren.apply(label, Array.from(nextLabel.childNodes));
      var shown = field.querySelector(":scope > .readonly"), nextShown = next.querySelector(":scope > .readonly");
      if (shown && nextShown) shown.replaceChildren.apply(shown, Array.from(nextShown.childNodes));
      var said = field.querySelector(":scope > .messages"), nextSaid = next.querySelector(":scope > .messages");
      if (said && nextSaid) said.replaceWith(nextSaid);
    });
  });

  document.addEventListener("htmx:afterSettle", function () {
    var row = document.querySelector(".line-grid tr[data-focus]");
    if (!row) return;
    row.removeAttribute("data-focus");
    var first = row.querySelector("td.cell input:not([type=hidden]), td.cell select");
    if (first) first.focus();
  });
})();

// A form redrawn by its live state (#form-body) shows the server's answer to what was sent; what
// the user typed while that answer was on its way (e.g. the amount, just after picking a customer
// whose pick redraws the form) is put back, so no keystroke is lost to the redraw.
(function () {
  var typed = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.target && event.detail.target.id === "form-body") typed = {};
  });
  document.addEventListener("input", function (event) {
    if (typed && event.target.id && event.target.closest && event.target.closest("#form-body")) {
      typed[event.target.id] = event.target.value;
    }
  }, true);
  document.addEventListener("htmx:afterSettle", function (event) {
    var sent = event.detail.requestConfig;
    if (!typed || (sent && sent.target && sent.target.id !== "form-body")) return;  // another answer settled
    var kept = typed;
    typed = null;
    Object.keys(kept).forEach(function (id) {
      var input = document.getElementById(id);
      if (input && !input.readOnly && !input.disabled) input.value = kept[id];
    });
  });
})();

// A save refused because records like it exist (ui/records/duplicate_warning.py) lists them at the
// top of the form, far above the Save button just pressed: bring the list into view, with the
// "Save anyway" button focused for the keyboard.
document.addEventListener("htmx:afterSettle", function () {
  var panel = document.querySelector("#form-body .duplicates[data-fresh]");
  if (!panel) return;
  panel.removeAttribute("data-fresh");
  panel.scrollIntoView({block: "start"});
  var button = panel.querySelector("button");
  if (button) button.focus({preventScroll: true});
});
