// The door view's service worker: a page reloaded while the venue's Wi-Fi is down still opens. It is registered by
// /static/door.js for the meeting pages only (scope /organisator/bijeenkomsten/) and serves, when the network
// fails, the last copy of a door page (/organisator/bijeenkomsten/{id}) and the files it needs. Network first:
// online, everything is as fresh as without it. It never touches a POST: check-ins queue in the page
// (localStorage, door.js) and the server records them idempotently, so nothing counts twice.
// The copies live in this browser's Cache Storage; signing out clears it (Clear-Site-Data).
"use strict";
var CACHE = "leerkring-deur-v1";
// What the door page loads (base.html, fonts.css, door.js); tests/unit/test_door_worker.py keeps this list whole.
var ASSETS = ["/static/nlds/fonts.css", "/static/nlds/theme.css", "/static/nlds/components.css",
  "/static/leerkring.css", "/static/door.js", "/static/favicon.svg",
  "/static/fonts/noto-sans-latin-400-normal.woff2", "/static/fonts/noto-sans-latin-700-normal.woff2",
  "/static/fonts/noto-serif-latin-400-normal.woff2", "/static/fonts/noto-serif-latin-700-normal.woff2"];
var DOOR = /^\/organisator\/bijeenkomsten\/[0-9a-f-]{36}$/;

function keep(path, response) {
  if (!response.ok || response.type !== "basic") return;
  var copy = response.clone();
  caches.open(CACHE).then(function (cache) { return cache.put(path, copy); });
}

function networkFirst(request, path) {
  return fetch(request)
    .then(function (response) { keep(path, response); return response; })
    .catch(function () {
      return caches.match(path).then(function (hit) { return hit || Response.error(); });
    });
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(ASSETS); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf("leerkring-deur-") === 0 && n !== CACHE; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

// The page asks for a fresh copy of itself: when it was opened before this worker ran, and after every sync.
self.addEventListener("message", function (event) {
  var path = event.data && event.data.keep;
  if (typeof path !== "string" || !DOOR.test(path)) return;
  event.waitUntil(fetch(path, { credentials: "same-origin" })
    .then(function (response) { keep(path, response); })
    .catch(function () {}));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && DOOR.test(url.pathname)) {
    event.respondWith(networkFirst(request, url.pathname));
  } else if (ASSETS.indexOf(url.pathname) >= 0) {
    event.respondWith(networkFirst(request, url.pathname));
  }
});
