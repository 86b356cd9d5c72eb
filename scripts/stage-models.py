#!/usr/bin/env python3
"""Publish the converted models next to the built app: dist/models/ with a manifest.

Reads models/ (filled by scripts/fetch-models.sh and the minilm-bundle converter) and writes
dist/models/<name>-<sha8>.<ext>[.partN] pieces of at most 50 MB (a common static-hosting limit) and
dist/models/manifest.json listing each piece's size and sha256, which the worker checks before use.
Content hashes in the names let browsers cache pieces forever and never mix two releases.
A model whose files are missing is left out of the manifest; the app then says it is not published.
"""
import hashlib
import json
import os
import pathlib
import sys

PIECE = 50_000_000
root = pathlib.Path(__file__).resolve().parent.parent
dist = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else root / "dist")
out = dist / "models"
out.mkdir(parents=True, exist_ok=True)
sources = {
    "minilm": (root / "models/minilm/minilm.bundle", "bundle"),
    "smollm2": (root / "models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "gguf"),
}
manifest = {"version": 1, "minilm": None, "smollm2": None}
for name, (src, ext) in sources.items():
    if not src.exists():
        print(f"stage-models: {src} missing; {name} is not published", file=sys.stderr)
        continue
    data = src.read_bytes()
    tag = hashlib.sha256(data).hexdigest()[:12]
    files = []
    pieces = [data[i : i + PIECE] for i in range(0, len(data), PIECE)]
    for k, piece in enumerate(pieces):
        fname = f"{name}-{tag}.{ext}" + (f".part{k}" if len(pieces) > 1 else "")
        path = out / fname
        if not path.exists() or path.stat().st_size != len(piece):
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_bytes(piece)
            os.replace(tmp, path)
        files.append({"name": fname, "bytes": len(piece), "sha256": hashlib.sha256(piece).hexdigest()})
    manifest[name] = {"files": files}
    print(f"stage-models: {name}: {len(data)} bytes in {len(files)} piece(s)", file=sys.stderr)
keep = {f["name"] for m in manifest.values() if isinstance(m, dict) for f in m["files"]}
for p in out.iterdir():
    if p.name != "manifest.json" and p.name not in keep:
        p.unlink()
(out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
