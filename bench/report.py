#!/usr/bin/env python3
"""Collects the benchmark outputs into bench/results.json and bench/results.md.

Inputs (all produced by `./x bench`): target/criterion/engine/*/*/new/estimates.json (criterion, the
engine natively), bench/out/native-models.json (model forward natively), bench/out/browser.json
(Chromium). Missing inputs are reported as missing, not invented.
"""
import json
import pathlib
import platform
import subprocess

root = pathlib.Path(__file__).resolve().parent.parent
res = {"machine": {"cpu": "", "cores": None, "os": platform.platform()}}
try:
    res["machine"]["cpu"] = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    res["machine"]["cores"] = int(subprocess.check_output(["nproc"]).strip())
except Exception:
    pass

engine = {}
crit = root / "target/criterion/engine"
if crit.exists():
    for mode_dir in sorted(crit.iterdir()):
        if not mode_dir.is_dir() or mode_dir.name == "report":
            continue
        for n_dir in mode_dir.iterdir():
            est = n_dir / "new/estimates.json"
            if est.exists():
                e = json.loads(est.read_text())
                engine.setdefault(mode_dir.name, {})[n_dir.name] = {
                    "median_us": e["median"]["point_estimate"] / 1000,
                    "ci95_us": [e["median"]["confidence_interval"]["lower_bound"] / 1000, e["median"]["confidence_interval"]["upper_bound"] / 1000],
                }
res["engine_native"] = engine or "missing: run cargo bench -p arcs-core --bench modes"
for name in ["native-models", "browser"]:
    p = root / f"bench/out/{name}.json"
    res[name.replace("-", "_")] = json.loads(p.read_text()) if p.exists() else f"missing: {p.name}"
(root / "bench/results.json").write_text(json.dumps(res, indent=1) + "\n")

md = ["# Benchmark results", "", f"Machine: {res['machine']['cpu']} ({res['machine']['cores']} cores), {res['machine']['os']}.", ""]
if isinstance(engine, dict) and engine:
    md += ["## Engine, natively (criterion medians, µs)", "", "| mode | 8 | 64 | 256 | 1024 |", "|---|---|---|---|---|"]
    for mode, rows in engine.items():
        md.append(f"| {mode} | " + " | ".join(f"{rows[n]['median_us']:.1f}" if n in rows else "—" for n in ["8", "64", "256", "1024"]) + " |")
    md.append("")
nm, br = res["native_models"], res["browser"]
if isinstance(nm, dict) and isinstance(br, dict):
    md += ["## Model forward pass, all layers' attention (medians, ms)", "", "| model | tokens | native | Chromium (worker) | ratio |", "|---|---|---|---|---|"]
    for model in ["minilm", "smollm2"]:
        for n in [8, 32, 128]:
            nat = nm.get(f"{model}_forward_ms_{n}", {}).get("median")
            web = br.get(model, {}).get(f"forward_ms_{n}", {}).get("median")
            ratio = f"{web / nat:.1f}x" if nat and web else "—"
            md.append(f"| {model} | {n} | {nat:.1f} | {web:.1f} | {ratio} |" if nat and web else f"| {model} | {n} | {nat} | {web} | — |")
    md.append("")
if isinstance(br, dict):
    md += ["## In Chromium", ""]
    f = br.get("navigation_to_first_arcs_ms", {})
    md.append(f"- Navigation to first arcs: {f.get('median', 0):.0f} ms (min {f.get('min', 0):.0f}, max {f.get('max', 0):.0f}).")
    for n, v in br.get("toy_recompute_ms", {}).items():
        md.append(f"- Toy recompute at {n} tokens: {v['median']:.2f} ms (max {v['max']:.2f}).")
    for n, v in br.get("hover_repaint_ms", {}).items():
        md.append(f"- Hover at {n} tokens: script+DOM {v['script_and_dom']['median']:.1f} ms; to next frame {v['to_next_frame']['median']:.1f} ms (an empty frame takes {v['empty_frame']:.1f} ms here).")
    for model in ["minilm", "smollm2"]:
        m = br.get(model)
        if isinstance(m, dict):
            md.append(f"- {model}: ready cold {m['ready_cold_ms']['worker_load_ms']:.0f} ms, warm (browser cache) {m['ready_warm_ms']['worker_load_ms']:.0f} ms; {m.get('bytes_downloaded_cold', 0) / 1e6:.1f} MB downloaded; page JS heap {m.get('page_js_heap_used_mb', 0):.0f} MB; worker wasm memory peak {m.get('worker_wasm_memory_peak_mb', 0):.0f} MB.")
    for k in ["wasm_app", "wasm_worker"]:
        if k in br:
            md.append(f"- {k.replace('_', ' ')}: {br[k]['raw_bytes'] / 1e3:.0f} KB raw, {br[k]['gzip_bytes'] / 1e3:.0f} KB gzip.")
    md.append("")
md += ["Peers (candle wasm, ONNX Runtime Web, PyTorch CPU) are not run yet; see the README."]
(root / "bench/results.md").write_text("\n".join(md) + "\n")
print("\n".join(md))
