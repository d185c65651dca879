// The receipt's QR code opens /withdraw#code=XXXX-...: the fragment never reaches the server.
// Fill the field from it, then take it out of the address bar and the history, so that the
// code does not linger on a shared device. The person still presses Continue.
(function () {
  "use strict";
  function fill() {
    var field = document.getElementById("code");
    var match = /(?:^#|&)code=([0-9A-Za-z-]{1,64})(?:&|$)/.exec(window.location.hash || "");
    if (!field || !match) { return; }
    field.value = match[1];
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
  }
  fill();
  // A second address typed or scanned while the page is open changes only the fragment.
  window.addEventListener("hashchange", fill);
})();
