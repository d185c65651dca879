// While the clinician confirms, ask every few seconds and move on by itself once it is done.
// The "Check again" button does the same for anyone without scripts.
(function () {
  "use strict";
  var status = document.getElementById("wait-status");
  if (!status || !window.fetch) { return; }
  function poll() {
    fetch(status.getAttribute("data-status-url"), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (body && body.confirmed) {
          window.location.assign(status.getAttribute("data-done-url"));
        } else {
          window.setTimeout(poll, 3000);
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 3000);
})();
