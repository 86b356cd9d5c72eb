#!/usr/bin/env python3
"""After `trunk build`: make dist/ a self-contained, offline-capable static site.

1. Move trunk's inline bootstrap <script type="module"> into dist/boot-<hash>.js: the page's
   Content-Security-Policy allows only the app's own scripts ('self'), no inline code.
2. Write dist/sw.js (the service worker) from scripts/sw-template.js with this release's file list and
   version, so the app works offline after the first visit and a new release replaces the old cleanly.
Idempotent.
"""
import hashlib
import json
import pathlib
import re
import sys

dist = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "dist")
index = dist / "index.html"
html = index.read_text(encoding="utf-8")
pattern = re.compile(r'<script type="module">(.*?)</script>', re.S)
m = pattern.search(html)
if m:
    code = m.group(1).strip() + "\n"
    name = "boot-%s.js" % hashlib.sha256(code.encode()).hexdigest()[:16]
    (dist / name).write_text(code, encoding="utf-8")
    html = html[: m.start()] + f'<script type="module" src="./{name}"></script>' + html[m.end() :]
    index.write_text(html, encoding="utf-8")
if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html):
    sys.exit("postbuild: an inline script is left in index.html; the CSP would block it")

# The service worker: every app file of this release, versioned by their combined hash.
files = sorted(p.name for p in dist.iterdir() if p.is_file() and p.name not in ("sw.js",))
digest = hashlib.sha256()
for name in files:
    digest.update(name.encode())
    digest.update((dist / name).read_bytes())
version = digest.hexdigest()[:16]
app_files = ["./"] + [f"./{n}" for n in files if n != "index.html"]
template = (pathlib.Path(__file__).parent / "sw-template.js").read_text(encoding="utf-8")
sw = template.replace("__VERSION__", version).replace("__APP_FILES__", json.dumps(app_files))
(dist / "sw.js").write_text(sw, encoding="utf-8")
