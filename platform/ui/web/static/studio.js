// The studio's small conveniences: inputs that only matter for some field types show only for them.
(function () {
  "use strict";
  function sync(form) {
    const type = form.querySelector("select[name=type]");
    if (!type) return;
    form.querySelectorAll("[data-types]").forEach(function (part) {
      part.hidden = part.dataset.types.split(" ").indexOf(type.value) < 0;
    });
  }
  // The automation form: the stages and field names offered follow the entity the rule is about.
  function follow(form) {
    const entity = form.querySelector("select[name=entity]").value;
    form.querySelectorAll("input[data-own-fields]").forEach(function (input) {
      input.setAttribute("list", "fields-" + entity);
    });
    const stage = form.querySelector("select[name=on_stage]");
    const all = document.getElementById("stage-options");
    if (!stage || !all) return;
    const chosen = stage.value;
    stage.replaceChildren(new Option("", ""));
    all.content.querySelectorAll("option").forEach(function (option) {
      if (option.dataset.entity === entity) stage.appendChild(option.cloneNode(true));
    });
    stage.value = chosen;
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[name=type]")) sync(event.target.form);
    if (event.target.matches("form.automation-form select[name=entity]")) follow(event.target.form);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.field-form").forEach(sync);
  });
})();
