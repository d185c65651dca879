// The tablet is shared: when the time stated on the page is up, reload it, and the service,
// which has ended the patient's session by then, shows the tablet as ready for the next person.
// Without scripts the page stays until someone touches it; the service refuses to show the code
// or the receipt again either way.
(function () {
  "use strict";
  var finish = document.getElementById("finish");
  if (!finish) { return; }
  var seconds = parseInt(finish.getAttribute("data-ends-in"), 10);
  if (isNaN(seconds)) { return; }
  window.setTimeout(function () { window.location.reload(); }, (seconds + 1) * 1000);
})();
