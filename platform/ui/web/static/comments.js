// The @name completion of a comment box: a chosen person replaces the "@…" typed at the end of
// the text. Without this file the completion still lists who may be mentioned.
(function () {
  document.addEventListener("click", function (event) {
    var option = event.target.closest(".mention-option");
    if (!option) return;
    event.preventDefault();
    var box = option.closest(".comment-form");
    var text = box.querySelector("textarea[name=text]");
    text.value = text.value.replace(/@[\w.-]*$/u, "@" + option.dataset.name + " ");
    box.querySelector(".mention-options").replaceChildren();
    text.focus();
    text.setSelectionRange(text.value.length, text.value.length);
  });
})();
