// The check-in button (templates/_follow_ups.html). On the click the browser is asked for the
// place; the latitude and longitude are sent only if the person allows it. Refused, unavailable
// or unanswered for 15 seconds, the check-in is sent with the time alone: the place is never required.
(function () {
  var WAIT_MS = 15000;
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form.check-in[data-ask-place]");
    if (!form || !navigator.geolocation) return;
    event.preventDefault();
    if (form.dataset.asking) return;
    form.dataset.asking = "1";
    var sent = false;
    function send() {
      if (sent) return;
      sent = true;
      form.submit();  // submit() fires no submit event: this handler does not run again
    }
    var timer = setTimeout(send, WAIT_MS);
    navigator.geolocation.getCurrentPosition(function (position) {
      clearTimeout(timer);
      if (sent) return;
      form.querySelector("[name=lat]").value = position.coords.latitude.toFixed(6);
      form.querySelector("[name=lng]").value = position.coords.longitude.toFixed(6);
      send();
    }, function () {
      clearTimeout(timer);
      send();
    }, { timeout: WAIT_MS, maximumAge: 60000 });
  });
})();
