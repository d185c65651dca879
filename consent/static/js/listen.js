// "Listen" (issue 21): read a reading page or a question aloud with the device's own voice
// (Web Speech API). The button is hidden unless the device has a voice for the text's
// language; nothing is sent anywhere. A second press stops the reading.
(function () {
  "use strict";
  var synth = window.speechSynthesis;
  var buttons = document.querySelectorAll("button.listen[data-listen-target]");
  if (!synth || !window.SpeechSynthesisUtterance || !buttons.length) { return; }

  function languageOf(element) {
    var holder = element.closest("[lang]");
    return (holder ? holder.getAttribute("lang") : document.documentElement.lang || "").toLowerCase();
  }

  function voiceFor(language) {
    var voices = synth.getVoices() || [];
    for (var i = 0; i < voices.length; i++) {
      var lang = (voices[i].lang || "").toLowerCase().replace("_", "-");
      if (lang === language || lang.split("-")[0] === language.split("-")[0]) { return voices[i]; }
    }
    return null;
  }

  function setUp(button) {
    var target = document.getElementById(button.getAttribute("data-listen-target"));
    if (!target) { return; }
    var language = languageOf(target);
    var label = button.querySelector(".listen-label");
    var startText = button.getAttribute("data-listen-start");
    var stopText = button.getAttribute("data-listen-stop");

    function show() {
      var voice = voiceFor(language);
      button.hidden = !voice;
      return voice;
    }

    function reset() {
      button.setAttribute("aria-pressed", "false");
      label.textContent = startText;
    }

    button.addEventListener("click", function () {
      if (button.getAttribute("aria-pressed") === "true") {
        synth.cancel();
        reset();
        return;
      }
      var voice = show();
      if (!voice) { return; }
      synth.cancel();
      var utterance = new window.SpeechSynthesisUtterance(target.innerText);
      utterance.lang = voice.lang || language;
      utterance.voice = voice;
      utterance.rate = 0.9; // a little slower than the default, for every listener
      utterance.onend = reset;
      utterance.onerror = reset;
      button.setAttribute("aria-pressed", "true");
      label.textContent = stopText;
      synth.speak(utterance);
    });
    show();
    // Many browsers list their voices only after a first "voiceschanged" event.
    if (synth.addEventListener) { synth.addEventListener("voiceschanged", show); }
    window.addEventListener("pagehide", function () { synth.cancel(); });
  }

  for (var i = 0; i < buttons.length; i++) { setUp(buttons[i]); }
})();
