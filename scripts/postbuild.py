#!/usr/bin/env python3
"""After `trunk build`: move trunk's inline bootstrap <script type="module"> into its own file.

The page's Content-Security-Policy allows only the app's own scripts ('self'), no inline code; trunk
writes a small inline loader, so it becomes dist/boot-<hash>.js. Idempotent.
"""
import hashlib
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
