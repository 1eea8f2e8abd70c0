// Drag and drop on the kanban board. Without this file each card still moves through its
// "move to…" select (a form); with it a card dropped on another column posts the same request.
(function () {
  var dragged = null;

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".kanban-card[data-move]");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.id);
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    document.querySelectorAll(".kanban-col.drop-here").forEach(function (c) { c.classList.remove("drop-here"); });
    dragged = null;
  });

  function columnAt(event) {
    var column = event.target.closest && event.target.closest(".kanban-col[data-value]");
    if (!column || !dragged || column.contains(dragged)) return null;
    return column;
  }

  document.addEventListener("dragover", function (event) {
    var column = columnAt(event);
    if (!column) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    column.classList.add("drop-here");
  });

  document.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest(".kanban-col");
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-here");
  });

  document.addEventListener("drop", function (event) {
    var column = columnAt(event);
    if (!column) return;
    event.preventDefault();
    column.classList.remove("drop-here");
    var card = dragged;
    card.classList.add("moving");
    // The server answers with the two columns (out of band), or the form asking for fields, or
    // the message and the card's own column again: the card never moves on the client alone.
    htmx.ajax("POST", card.dataset.move, {
      source: card, target: "#board-message", swap: "outerHTML",
      values: { to: column.dataset.value, version: card.dataset.version }
    }).finally(function () { card.classList.remove("moving"); });
  });
})();
