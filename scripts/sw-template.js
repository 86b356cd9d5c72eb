// Attention Arcs service worker: the app works offline after the first visit.
// Generated into dist/sw.js by scripts/postbuild.py, which fills in VERSION and APP_FILES.
//  - App files (content-hashed by trunk) are cached per release under "arcs-app-<VERSION>"; activating a
//    new release deletes the old one, so an old app never runs with a new release's files.
//  - index.html and models/manifest.json are network-first (a new release is picked up as soon as the
//    network answers) and fall back to the cache offline.
//  - Model pieces live in "attention-arcs-models", filled by the model worker after it verified them;
//    they are content-hashed too and served from there offline.
const VERSION = "__VERSION__";
const APP_FILES = __APP_FILES__;
const APP_CACHE = "arcs-app-" + VERSION;
const MODEL_CACHE = "attention-arcs-models";

// The model worker comes in a SIMD build and a plain one; the page starts the one this browser can run
// (the same one-function probe as src/app/dom.rs), so only that one is worth keeping offline.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
function simdSupported() {
  try { return WebAssembly.validate(SIMD_PROBE); } catch (_) { return false; /* no WebAssembly: neither build runs */ }
}
function wanted(file, simd) {
  const name = file.split("/").pop();
  if (name.startsWith("worker-simd")) return simd;
  if (name.startsWith("worker")) return !simd;
  return true;
}

self.addEventListener("install", (event) => {
  const simd = simdSupported();
  event.waitUntil(caches.open(APP_CACHE).then((c) => c.addAll(APP_FILES.filter((f) => wanted(f, simd)))).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("arcs-app-") && k !== APP_CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

function networkFirst(request) {
  return fetch(request)
    .then((resp) => {
      if (resp.ok) {
        const copy = resp.clone();
        caches.open(APP_CACHE).then((c) => c.put(request, copy));
      }
      return resp;
    })
    .catch(() => caches.match(request, { ignoreSearch: true }).then((r) => r || caches.match("./", { ignoreSearch: true })));
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET" || new URL(req.url).origin !== self.location.origin) return;
  const path = new URL(req.url).pathname;
  if (req.mode === "navigate" || path.endsWith("/") || path.endsWith("/index.html") || path.endsWith("/manifest.json")) {
    event.respondWith(networkFirst(req));
    return;
  }
  event.respondWith(caches.match(req).then((hit) => hit || fetch(req)));
});
