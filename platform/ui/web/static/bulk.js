// The list's bulk bar (ui/records/bulk_actions.py): "tick all on this page" ticks every row;
// "all N matching this filter" ticks them too and sends the filter instead of the ids. Unticking
// a row unticks both. Without this file each row is ticked by hand.
(function () {
  function picks() { return document.querySelectorAll("input.bulk-pick"); }
  function box(id) { return document.getElementById(id); }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.id === "bulk-page" || target.id === "bulk-all") {
      picks().forEach(function (pick) { pick.checked = target.checked; });
      if (target.id === "bulk-all" && target.checked && box("bulk-page")) box("bulk-page").checked = true;
      if (target.id === "bulk-page" && !target.checked && box("bulk-all")) box("bulk-all").checked = false;
    } else if (target.matches("input.bulk-pick") && !target.checked) {
      ["bulk-page", "bulk-all"].forEach(function (id) { if (box(id)) box(id).checked = false; });
    }
  });
})();
