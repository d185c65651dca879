// Staff pages that follow a state (the worklist, a request): ask the small status answer every
// few seconds; when it changed, fetch the page again and swap the live part in place, then say
// what changed in the page's aria-live region. Without scripts, reloading shows the same.
(function () {
  "use strict";
  var root = document.querySelector("[data-live-url]");
  if (!root || !window.fetch || !window.DOMParser) { return; }
  var announce = document.getElementById("live-announce");
  var version = root.getAttribute("data-live-version");
  function swap(message) {
    // The page to fetch again: this one, unless it answered a form (a new tablet link).
    var source = root.getAttribute("data-live-page") || window.location.href;
    return fetch(source, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var part = fresh.getElementById(root.id);
        if (!part) { return; }
        // Keep the keyboard where it was when it is inside the part being replaced.
        var focused = root.contains(document.activeElement) ? document.activeElement.id : "";
        root.innerHTML = part.innerHTML;
        root.setAttribute("data-live-version", part.getAttribute("data-live-version") || "");
        // Other parts that follow the same state (a request's history), swapped alike.
        Array.prototype.forEach.call(document.querySelectorAll("[data-live-also]"), function (old) {
          var next = fresh.getElementById(old.id);
          if (next) { old.innerHTML = next.innerHTML; }
        });
        document.title = fresh.title;
        if (focused && document.getElementById(focused)) { document.getElementById(focused).focus(); }
        if (announce && message) { announce.textContent = message; }
      });
  }
  function poll() {
    fetch(root.getAttribute("data-live-url"), {
      credentials: "same-origin", headers: { "Accept": "application/json" }
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (body && body.version !== version) {
          version = body.version;
          return swap(body.message);
        }
        return null;
      })
      .catch(function () { return null; })
      .then(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 3000);
})();
