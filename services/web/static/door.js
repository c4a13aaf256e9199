// The door view keeps working when the venue's Wi-Fi drops: a check-in button puts the person in a queue kept in
// this browser (localStorage, per meeting), the row says so at once, and the queue is sent whenever there is a
// connection (now, on the browser's "online" event, and every few seconds). The server records attendance
// idempotently (the same person twice is one record, one event), so a queue sent twice counts nobody twice.
// Without this script every button is a plain form post. Texts come from the page (data-* attributes), translated.
// It also registers the door's service worker (/organisator/deur-sw.js), so a reload without Wi-Fi still opens
// the page: the worker keeps the last copy, refreshed after each sync.
(function () {
  "use strict";
  function keepCopy() {
    if (!("serviceWorker" in navigator) || !navigator.onLine) return;
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.active) registration.active.postMessage({ keep: window.location.pathname });
    });
  }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/organisator/deur-sw.js", { scope: "/organisator/bijeenkomsten/" })
      .then(keepCopy, function () {});
  }
  var root = document.querySelector("[data-deur]");
  if (!root) return;
  var url = root.getAttribute("data-deur");
  var token = root.getAttribute("data-csrf");
  var key = "leerkring-deur:" + root.getAttribute("data-bijeenkomst");
  var status = document.getElementById("deur-status");
  var text = {
    waiting: root.getAttribute("data-tekst-wacht"),
    queued: root.getAttribute("data-tekst-rij"),
    queuedOne: root.getAttribute("data-tekst-rij-een"),
    done: root.getAttribute("data-tekst-klaar"),
    checked: root.getAttribute("data-tekst-ingecheckt"),
    offline: root.getAttribute("data-tekst-offline")
  };
  var sending = false;
  var sent = false; // "all sent" only once something was: before the first check-in there is nothing to report

  function queue() {
    try { return JSON.parse(window.localStorage.getItem(key) || "[]"); } catch (e) { return []; }
  }
  function save(items) { window.localStorage.setItem(key, JSON.stringify(items)); }
  function mark(id, label) {
    var cell = root.querySelector('[data-registratie="' + id + '"]');
    if (cell) cell.textContent = label;
  }
  function report(offline) {
    var n = queue().length;
    if (n) status.textContent = n === 1 ? text.queuedOne : text.queued.replace("{n}", String(n));
    else status.textContent = offline ? text.offline : (sent ? text.done : "");
  }
  function sync() {
    var items = queue();
    if (!items.length || sending) { report(false); return; }
    sending = true;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token, Accept: "application/json" },
      body: JSON.stringify({ registration_ids: items })
    })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (answer) {
        var left = queue().filter(function (id) { return answer.recorded.indexOf(id) < 0; });
        save(left);
        sent = true;
        answer.recorded.forEach(function (id) { mark(id, text.checked); });
        var count = document.getElementById("aantal-ingecheckt");
        if (count) {
          var cells = root.querySelectorAll("[data-registratie]");
          count.textContent = String([].filter.call(cells, function (c) { return c.textContent === text.checked; }).length);
        }
        sending = false;
        report(false);
        keepCopy();
      })
      .catch(function () { sending = false; report(true); });
  }
  root.addEventListener("submit", function (event) {
    var form = event.target;
    var id = form.getAttribute("data-registratie-form");
    if (!id) return;
    event.preventDefault();
    var items = queue();
    if (items.indexOf(id) < 0) items.push(id);
    save(items);
    mark(id, text.waiting);
    sync();
  });
  queue().forEach(function (id) { mark(id, text.waiting); });
  window.addEventListener("online", sync);
  window.setInterval(sync, 4000);
  sync();
})();
