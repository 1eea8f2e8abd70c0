// The header's menus are <details name="nav">: the browser keeps one open at a time. This closes
// the open one on a click elsewhere or on Escape; without this file the menus still open and close.
(function () {
  function openMenus() { return document.querySelectorAll("details.nav-group[open]"); }
  document.addEventListener("click", function (event) {
    openMenus().forEach(function (menu) { if (!menu.contains(event.target)) menu.open = false; });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    openMenus().forEach(function (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
    });
  });
})();
