// Editing in place: a list cell (click, or Enter on a focused cell, opens its input; Enter or
// leaving it saves; Esc puts the value back) and a kanban card's quick edit (Esc closes it). The
// server renders every state; this file only sends the keys and keeps the focus where the keyboard
// left it. htmx runs without a settle delay (base.html): it wires the new element at once, so a
// key pressed right after an answer arrives (Enter just after Esc) is not lost.
(function () {
  var refocus = null;  // the id of the cell (or card) to focus once the server's answer is in

  function editorOf(element) { return element && element.closest ? element.closest(".cell.editing") : null; }

  function fields(editor) {
    return Array.from(editor.querySelectorAll("input, select")).map(function (input) {
      return input.name + "=" + (input.type === "checkbox" ? input.checked : input.value);
    }).join("&");
  }

  function cancel(editor) {
    if (editor.dataset.busy) return;
    editor.dataset.busy = "1";
    htmx.ajax("GET", editor.dataset.cancel, { source: editor, target: editor, swap: "outerHTML" });
  }

  function save(editor) {
    if (editor.dataset.busy) return;
    if (fields(editor) === editor.dataset.initial) { cancel(editor); return; }  // nothing changed
    editor.dataset.busy = "1";
    htmx.trigger(editor, "cell-save");
  }

  // What happens in a cell's input stays there: the list's filter form around the table refreshes
  // the list on every change and submits on Enter.
  document.addEventListener("change", function (event) {
    if (editorOf(event.target)) event.stopPropagation();
  }, true);

  document.addEventListener("keydown", function (event) {
    var editor = editorOf(event.target);
    if (editor && !event.isComposing) {
      var picker = event.target.closest(".picker");
      var open = picker && picker.querySelector(".picker-list .pick");
      if (event.key === "Escape") {
        if (open) return;  // the picker closes its list first (records.js)
        event.preventDefault();
        refocus = editor.id;
        cancel(editor);
      } else if (event.key === "Enter" && !event.target.matches(".pick")) {
        event.preventDefault();
        refocus = editor.id;
        save(editor);
      }
      return;
    }
    var card = event.target.closest && event.target.closest(".kanban-card.editing");
    if (card && event.key === "Escape" && !event.isComposing) {
      event.preventDefault();
      var close = card.querySelector(".quick-cancel");
      refocus = card.id;
      if (close) close.click();
    }
    if (event.target.matches && event.target.matches(".cell.editable") && event.key === "Enter") {
      refocus = null;  // the input takes the focus when it arrives
    }
  }, true);

  // Leaving the cell saves it (a click on a picker's choice stays inside the cell).
  document.addEventListener("focusout", function (event) {
    var editor = editorOf(event.target);
    if (!editor || (event.relatedTarget && editor.contains(event.relatedTarget))) return;
    setTimeout(function () {
      if (!document.body.contains(editor) || editor.contains(document.activeElement)) return;
      save(editor);
    }, 150);
  });

  // a card's quick edit gives the focus back to its card once saved or closed
  document.addEventListener("htmx:beforeRequest", function (event) {
    var card = event.detail.elt.closest && event.detail.elt.closest(".kanban-card.editing");
    if (card) refocus = card.id;
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    // an input that has just opened takes the focus, with its text selected
    document.querySelectorAll(".cell.editing:not([data-initial]), .kanban-card.editing:not([data-initial])").forEach(function (editor) {
      editor.dataset.initial = fields(editor);
      var input = editor.querySelector("input:not([type=hidden]), select");
      if (input && !editor.contains(document.activeElement)) {
        input.focus();
        if (input.select && input.type !== "checkbox") input.select();
      }
    });
    if (refocus) {
      var again = document.getElementById(refocus);
      if (again && !again.classList.contains("editing")) {
        refocus = null;
        var target = again.matches(".kanban-card") ? again.querySelector(".card-quick") || again : again;
        target.focus();
      }
    }
    // the row's other controls (a quick stage action) carry the record's new version too
    var cell = event.target.closest && event.target.closest(".cell[data-version]");
    var row = cell && cell.closest("tr");
    if (!row) return;
    row.querySelectorAll("[hx-vals]").forEach(function (element) {
      try {
        var values = JSON.parse(element.getAttribute("hx-vals"));
        if (!("version" in values)) return;
        values.version = cell.dataset.version;
        element.setAttribute("hx-vals", JSON.stringify(values));
      } catch (e) { /* not JSON: left as it is */ }
    });
  });
})();
