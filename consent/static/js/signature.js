// The signature box: signature_pad records every stroke with its points and times. The
// strokes (not only a picture) are sent, hashed into the receipt, and kept sealed.
(function () {
  "use strict";
  var canvas = document.getElementById("signature-pad");
  var form = document.getElementById("sign-form");
  var field = document.getElementById("signature-data");
  if (!canvas || !form || !field || typeof SignaturePad !== "function") { return; }
  var pad = new SignaturePad(canvas, { minWidth: 1, maxWidth: 3, penColor: "#000" });

  // Size the drawing surface to the box on screen (both orientations, any zoom), keeping what
  // was drawn: the points are in CSS pixels, so they survive a new device pixel ratio.
  function fit() {
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    var data = pad.toData();
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    pad.clear();
    if (data.length) { pad.fromData(data); }
  }
  window.addEventListener("resize", fit);
  fit();

  document.getElementById("signature-clear").addEventListener("click", function () {
    pad.clear();
    field.value = "";
  });
  form.addEventListener("submit", function () {
    field.value = pad.isEmpty() ? "" : JSON.stringify(pad.toData());
  });
})();
