// The invitation batch's progress bar, live: polls the batch's JSON (same origin, the organiser's session cookie)
// and updates the <progress> and its text. Without this script the page shows the state at load and a link to
// look again. Served from /static/progress.js; the page's CSP allows scripts from our origin only.
(function () {
  "use strict";
  var bar = document.querySelector("progress[data-voortgang]");
  if (!bar) return;
  var text = document.getElementById("voortgang-tekst");
  var url = bar.getAttribute("data-voortgang");
  var lastText = "";
  var lastSpoken = 0;
  function show(data) {
    bar.max = Math.max(data.total, 1);
    bar.value = data.done;
    var now = Date.now();
    // The text is a polite live region: say it when the state changes, otherwise at most every five seconds.
    if (data.text !== lastText && (data.finished || now - lastSpoken > 5000 || lastText === "")) {
      text.textContent = data.text;
      lastText = data.text;
      lastSpoken = now;
    }
    if (data.finished) {
      text.textContent = data.text;
      document.documentElement.setAttribute("data-voortgang-klaar", "ja");
      // A page whose content follows from the finished work (a composed learning-circle round) shows it.
      if (bar.getAttribute("data-herlaad-klaar") === "ja") window.location.reload();
      return;
    }
    window.setTimeout(poll, 1000);
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(show)
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  poll();
})();
