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
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[name=type]")) sync(event.target.form);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.field-form").forEach(sync);
  });
})();
