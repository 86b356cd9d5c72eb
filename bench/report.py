#!/usr/bin/env python3
"""Collects the benchmark outputs into bench/results.json and bench/results.md.

Inputs (all produced by `./x bench`): target/criterion/engine/*/*/new/estimates.json (criterion, the
engine natively), bench/out/native-models.json (model forward natively), bench/out/browser.json
(Chromium), bench/out/inputs.json (the token ids every runner used), bench/out/peer-*.json (candle
wasm, ONNX Runtime Web, PyTorch CPU, wllama), bench/out/engine-chromium.json (our model crate alone in
Chromium) and bench/out/ceilings.json (peak rates, multiply-adds). Missing inputs are reported as missing, not invented; a peer that
could not run is listed with its reason.
"""
import json
import pathlib
import platform
import subprocess

root = pathlib.Path(__file__).resolve().parent.parent
out_dir = root / "bench/out"
res = {"machine": {"cpu": "", "cores": None, "os": platform.platform()}}
try:
    res["machine"]["cpu"] = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    res["machine"]["cores"] = int(subprocess.check_output(["nproc"]).strip())
except Exception:
    pass


def load(name):
    p = out_dir / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else f"missing: bench/out/{p.name}"


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
res["native_models"] = load("native-models")
res["browser"] = load("browser")
res["inputs"] = load("inputs")
res["peers"] = {name: load(f"peer-{name}") for name in ["candle-wasm", "ort-web", "pytorch-cpu", "wllama"]}
nm, br, inputs, peers = res["native_models"], res["browser"], res["inputs"], res["peers"]
SIZES = ["8", "32", "128"]


def ours_web(model, n):
    """Our forward pass in Chromium's worker: {median, min, max, tokens} or None."""
    return br.get(model, {}).get(f"forward_ms_{n}") if isinstance(br, dict) else None


def ours_engine(model, n):
    """Our model crate alone in a dedicated worker of Chromium (no app around it): like the peers."""
    e = load("engine-chromium")
    v = e.get(model, {}).get("results", {}).get(n) if isinstance(e, dict) else None
    return {"median": v["median"], "min": v["min"], "max": v["max"], "tokens": v["tokens"]} if v else None


def ours_native(model, n):
    v = nm.get(f"{model}_forward_ms_{n}") if isinstance(nm, dict) else None
    if not v:
        return None
    s = sorted(v["samples"])
    return {"median": v["median"], "min": s[0], "max": s[-1], "tokens": v.get("tokens")}


def peer(name, model, n, key="results"):
    p = peers.get(name)
    if not isinstance(p, dict) or p.get("status") != "ok":
        return None
    block = p.get(key, {}) if key == "results" else p.get("extra", {}).get(key, {})
    v = block.get(model, {}).get(n) if key == "results" else block.get(n)
    if not v:
        return None
    return {"median": v["median_ms"], "min": v.get("min_ms"), "max": v.get("max_ms"), "tokens": v.get("tokens")}


def cell(v):
    if not v:
        return "—"
    if v.get("min") is None:
        return f"{v['median']:.1f}"
    return f"{v['median']:.1f} ({v['min']:.1f}–{v['max']:.1f})"


def ratio(a, b):
    return a["median"] / b["median"] if a and b and b["median"] else None


# Ratios the issue sets targets for, kept in results.json too.
ratios = {}
for n in SIZES:
    ours = ours_web("minilm", n)
    ratios[f"minilm_{n}_ours_over_ort_web"] = ratio(ours, peer("ort-web", "minilm", n))
    ratios[f"minilm_{n}_engine_over_ort_web"] = ratio(ours_engine("minilm", n), peer("ort-web", "minilm", n))
    ratios[f"smollm2_{n}_engine_over_wllama"] = ratio(ours_engine("smollm2", n), peer("wllama", "smollm2", n))
    ratios[f"minilm_{n}_ours_over_candle_wasm"] = ratio(ours, peer("candle-wasm", "minilm", n))
    for model in ["minilm", "smollm2"]:
        ratios[f"{model}_{n}_chromium_over_native"] = ratio(ours_web(model, n), ours_native(model, n))
    ratios[f"smollm2_{n}_native_over_pytorch"] = ratio(ours_native("smollm2", n), peer("pytorch-cpu", "smollm2", n))
    ratios[f"smollm2_{n}_ours_over_wllama"] = ratio(ours_web("smollm2", n), peer("wllama", "smollm2", n))
res["ratios"] = ratios
(root / "bench/results.json").write_text(json.dumps(res, indent=1) + "\n")

md = ["# Benchmark results", "",
      f"Machine: {res['machine']['cpu']} ({res['machine']['cores']} cores), {res['machine']['os']}.",
      "Every figure is a median over several runs, with (min–max) where the runner records them. "
      "Produced by `./x bench`; raw figures in bench/results.json.", ""]

if isinstance(br, dict) and isinstance(peers, dict):
    md += ["## MiniLM forward pass against the peers (ms, same machine, same run, same token ids)", "",
           "| input | tokens | ours, Chromium worker | ours, engine alone | ONNX Runtime Web | candle wasm | ours ÷ ORT Web | engine ÷ ORT Web | ours ÷ candle | ours native | PyTorch CPU |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for n in SIZES:
        ours, ort, candle = ours_web("minilm", n), peer("ort-web", "minilm", n), peer("candle-wasm", "minilm", n)
        eng = ours_engine("minilm", n)
        r1, r2, re = ratio(ours, ort), ratio(ours, candle), ratio(eng, ort)
        toks = (ours or ort or candle or {}).get("tokens", "?")
        md.append(f"| {n} words | {toks} | {cell(ours)} | {cell(eng)} | {cell(ort)} | {cell(candle)} | "
                  f"{f'{r1:.2f}x' if r1 else '—'} | {f'{re:.3f}x' if re else '—'} | {f'{r2:.2f}x' if r2 else '—'} | {cell(ours_native('minilm', n))} | {cell(peer('pytorch-cpu', 'minilm', n))} |")
    md.append("")
    md += ["## SmolLM2 forward pass (ms)", "",
           "| input | tokens | ours, Chromium worker | ours, engine alone | wllama (llama.cpp wasm) | ours ÷ wllama | engine ÷ wllama | ours native | Chromium ÷ native | PyTorch CPU | native ÷ PyTorch |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for n in SIZES:
        ours, nat, wl, pt = ours_web("smollm2", n), ours_native("smollm2", n), peer("wllama", "smollm2", n), peer("pytorch-cpu", "smollm2", n)
        eng = ours_engine("smollm2", n)
        r, rw, rp, re = ratio(ours, nat), ratio(ours, wl), ratio(nat, pt), ratio(eng, wl)
        toks = (ours or nat or {}).get("tokens", "?")
        md.append(f"| {n} words | {toks} | {cell(ours)} | {cell(eng)} | {cell(wl)} | {f'{rw:.2f}x' if rw else '—'} | {f'{re:.2f}x' if re else '—'} | {cell(nat)} | "
                  f"{f'{r:.1f}x' if r else '—'} | {cell(pt)} | {f'{rp:.2f}x' if rp else '—'} |")
    md.append("")
    md += ["What each runner computes:", ""]
    for m in ["minilm", "smollm2"]:
        b = br.get(m, {})
        if isinstance(b, dict) and b:
            md.append(f"- Ours ({m}): every layer's attention weights (and queries, keys, values) in the app's web worker, "
                      f"{b.get('worker_build', '?')} build; the time is the forward pass inside the worker. "
                      + ("MiniLM skips its last layer's output projection and feed-forward block, which no attention depends on." if m == "minilm" else
                         "Logits at every position (the app shows the next-token guess after each one)."))
    md.append("- Ours, engine alone: the same model crate (`bench/wasm-models/`, simd build) in a dedicated worker of a "
              "page of its own, as the peers run: the pass without the app's worker around it (its tokenizing, "
              "assembling the views' data, and the page drawing the last answer on the other core).")
    for name, p in peers.items():
        if isinstance(p, dict) and p.get("status") == "ok":
            outputs = sorted({v.get("outputs", "") for sizes in p.get("results", {}).values() for v in sizes.values()})
            md.append(f"- {p.get('label', name)}: {', '.join(o for o in outputs if o)}.")
        elif isinstance(p, dict):
            md.append(f"- {name}: **could not run here**: {p.get('reason', 'no reason given')}.")
        else:
            md.append(f"- {name}: {p}.")
    # Context rows the peers measured besides the main comparison.
    extra = []
    for name, p in peers.items():
        if isinstance(p, dict) and p.get("status") == "ok":
            for key, block in p.get("extra", {}).items():
                if not isinstance(block, dict):
                    continue
                if all(k in block for k in SIZES):
                    extra.append(f"- {name}, {key.replace('_', ' ')}: " + ", ".join(f"{k} words {cell(peer(name, None, k, key))} ms" for k in SIZES) + ".")
                elif "minilm" in block or "smollm2" in block:
                    for m, sizes in block.items():
                        if isinstance(sizes, dict) and all(k in sizes for k in SIZES):
                            extra.append(f"- {name}, {key.replace('_', ' ')}, {m}: " + ", ".join(
                                f"{k} words {sizes[k]['median_ms']:.1f} ms" for k in SIZES) + ".")
    # Ours with two workers (the helper takes half of the tokens; the app starts it with 4+ cores).
    helper = br.get("minilm_with_helper") if isinstance(br, dict) else None
    if isinstance(helper, dict) and helper.get("forward_ms_32", {}).get("runs"):
        extra.append(f"- ours, MiniLM with helper workers (core count overridden to {helper.get('cores')}; this machine has "
                     f"{helper.get('machine_cores')}), 32 words, in the app: {cell(helper['forward_ms_32'])} ms, "
                     f"{helper['forward_ms_32'].get('split_passes', 0)} of {helper['forward_ms_32']['runs']} passes split "
                     f"(the worker keeps whichever it measured faster).")
    two = load("two-workers")
    if isinstance(two, dict):
        extra.append(f"- ours, MiniLM 32 words, two bare workers splitting the tokens, no page work (bench/wasm-models/two-workers.mjs): "
                     f"{two['two_workers_ms']:.1f} ms against {two['one_worker_ms']:.1f} ms for one.")
    res["two_workers"] = two
    app = br.get("smollm2_app_cores") if isinstance(br, dict) else None
    alone = br.get("smollm2") if isinstance(br, dict) else None
    if isinstance(app, dict) and isinstance(alone, dict):
        parts = []
        for n in ["32", "128"]:
            a, one = app.get(f"forward_ms_{n}"), alone.get(f"forward_ms_{n}")
            if isinstance(a, dict) and isinstance(one, dict) and a.get("runs"):
                parts.append(f"{n} words {cell(a)} ms against {cell(one)} ms for one worker "
                             f"({a.get('split_passes', 0)} of {a['runs']} passes split)")
        if parts:
            extra.append(f"- ours, SmolLM2 in the app on this machine's {app.get('cores')} logical cores (a helper worker, "
                         f"split or alone as the worker measured faster): " + "; ".join(parts) + ".")
    dec = load("workers-smollm2")
    if isinstance(dec, dict):
        parts = [f"{n} tokens {dec[n]['split_ms']:.0f} ms against {dec[n]['one_worker_ms']:.0f} ms for one ({dec[n]['speedup']:.2f}x)"
                 for n in ["32", "128"] if isinstance(dec.get(n), dict)]
        if parts:
            extra.append(f"- ours, SmolLM2, {dec.get('workers', 2)} bare workers on uneven token ranges of equal work, "
                         f"no page work (bench/wasm-models/two-workers.mjs): " + "; ".join(parts) + ".")
    res["workers_smollm2"] = dec
    if extra:
        md += ["", "Context (not the like-for-like comparison above):", ""] + extra
    md.append("")
    if isinstance(inputs, dict):
        mismatched = [f"{m} {n}" for m in ["minilm", "smollm2"] for n in SIZES
                      if (ours_web(m, n) or {}).get("tokens") not in (None, len(inputs.get(m, {}).get(n, {}).get("ids", [])))]
        md.append("Token counts: every runner used bench/out/inputs.json's ids"
                  + (f"; **the app's count differed for {', '.join(mismatched)}**." if mismatched else "; the app's own tokenizer produced the same counts."))
        md.append("")

if isinstance(engine, dict) and engine:
    md += ["## Engine, natively (criterion medians, µs; d_model 64, 8 heads)", "", "| mode | 8 | 64 | 256 | 1024 |", "|---|---|---|---|---|"]
    for mode, rows in engine.items():
        md.append(f"| {mode} | " + " | ".join(f"{rows[n]['median_us']:.1f}" if n in rows else "—" for n in ["8", "64", "256", "1024"]) + " |")
    md.append("")

if isinstance(br, dict):
    md += ["## In Chromium", ""]
    f = br.get("navigation_to_first_arcs_ms", {})
    md.append(f"- Navigation to first arcs: {f.get('median', 0):.0f} ms (min {f.get('min', 0):.0f}, max {f.get('max', 0):.0f}).")
    for n, v in br.get("toy_recompute_ms", {}).items():
        md.append(f"- Toy recompute at {n} tokens: {v['median']:.2f} ms (max {v['max']:.2f}).")
    for n, v in br.get("hover_repaint_ms", {}).items():
        md.append(f"- Hover at {n} tokens (toy): script+layout {v['script_and_layout']['median']:.1f} ms (max {v['script_and_layout']['max']:.1f}); to next frame {v['to_next_frame']['median']:.1f} ms (an empty frame takes {v['empty_frame']:.1f} ms here).")
    long = br.get("hover_long", {})
    for key, label in [("lead_head", "one head in full"), ("every_head", "every head in full"), ("heatmap", "heatmap")]:
        if key in long:
            v = long[key]
            md.append(f"- Hover at {long['tokens']} tokens (SmolLM2, {label}): script+layout {v['script_and_layout']['median']:.1f} ms (max {v['script_and_layout']['max']:.1f}); to next frame {v['to_next_frame']['median']:.1f} ms.")
    for model in ["minilm", "smollm2"]:
        m = br.get(model)
        if isinstance(m, dict):
            trips = ", ".join(f"{n} words {m[f'roundtrip_ms_{n}']['median']:.0f} ms" for n in SIZES if f"roundtrip_ms_{n}" in m)
            md.append(f"- {model}: ready cold {m['ready_cold_ms']['worker_load_ms']:.0f} ms, warm (browser cache) {m['ready_warm_ms']['worker_load_ms']:.0f} ms; "
                      f"{m.get('bytes_downloaded_cold', 0) / 1e6:.1f} MB downloaded; page JS heap {m.get('page_js_heap_used_mb', 0):.0f} MB; "
                      f"worker wasm memory peak {m.get('worker_wasm_memory_peak_mb', 0):.0f} MB; request to result in the page: {trips or '—'}.")
    for k in ["wasm_app", "wasm_worker_simd", "wasm_worker"]:
        if k in br:
            label = {"wasm_app": "app", "wasm_worker_simd": "model worker, SIMD build", "wasm_worker": "model worker, plain build (browsers without SIMD)"}[k]
            md.append(f"- wasm {label}: {br[k]['raw_bytes'] / 1e3:.0f} KB raw, {br[k]['gzip_bytes'] / 1e3:.0f} KB gzip.")
    md.append("")

# The targets, checked against this run's figures.
def target(label, value, limit, unit=""):
    if value is None:
        return f"| {label} | — | {limit}{unit} | not measured |"
    return f"| {label} | {value:.2f}{unit} | ≤ {limit}{unit} | {'met' if value <= limit else '**missed**'} |"


if isinstance(br, dict):
    md += ["## Targets", "", "| target | this run | limit | |", "|---|---|---|---|"]
    md.append(target("MiniLM 32 words, ours ÷ candle wasm", ratios.get("minilm_32_ours_over_candle_wasm"), 0.5, "x"))
    worst = max((v for k, v in ratios.items() if k.endswith("chromium_over_native") and v), default=None)
    md.append(target("Chromium ÷ native, worst model and size", worst, 5, "x"))
    md.append(target("Navigation to first arcs", br.get("navigation_to_first_arcs_ms", {}).get("median"), 1000, " ms"))
    hover = br.get("hover_repaint_ms", {}).get("256", {}).get("script_and_layout", {}).get("median")
    md.append(target("Hover at 256 tokens, toy (script + layout)", hover, 16, " ms"))
    long = br.get("hover_long", {})
    worst_long = max((long[k]["script_and_layout"]["median"] for k in ["lead_head", "every_head", "heatmap"] if k in long), default=None)
    md.append(target("Hover at 1 000 tokens, SmolLM2, slowest view (script + layout)", worst_long, 16, " ms"))
    for n in ["32", "128"]:
        md.append(target(f"MiniLM {n} words, ours ÷ ONNX Runtime Web", ratios.get(f"minilm_{n}_ours_over_ort_web"), 0.4, "x"))
        md.append(target(f"MiniLM {n} words, engine alone ÷ ONNX Runtime Web", ratios.get(f"minilm_{n}_engine_over_ort_web"), 0.4, "x"))
        md.append(target(f"SmolLM2 {n} tokens, ours ÷ wllama", ratios.get(f"smollm2_{n}_ours_over_wllama"), 0.15, "x"))
        md.append(target(f"SmolLM2 {n} tokens, ours native ÷ PyTorch", ratios.get(f"smollm2_{n}_native_over_pytorch"), 2, "x"))
    md.append(target("Toy keystroke recompute at 256 tokens", br.get("toy_recompute_ms", {}).get("256", {}).get("median"), 5, " ms"))
    kernels = load("kernels")
    for rows in ["32", "128"]:
        by_type = kernels.get(f"rows_{rows}", {}) if isinstance(kernels, dict) else {}
        spread_k = max((v["fastest_over_this"] for v in by_type.values()), default=None)
        md.append(target(f"Slowest GGUF type's kernel ÷ fastest, {rows} rows (native)", spread_k, 1.5, "x"))
    app = br.get("wasm_app", {}).get("gzip_bytes")
    md.append(target("App wasm, gzip", app / 1e3 if app else None, 400, " KB"))
    warm = max((br.get(m, {}).get("ready_warm_ms", {}).get("worker_load_ms") or 0 for m in ["minilm", "smollm2"]), default=None)
    md.append(target("Model ready from the browser cache, slower model", warm or None, 1000, " ms"))
    md.append("")

# How far the ratio targets are from what this engine can do at all: each pass's multiply-adds at the
# peak rate of the instructions our kernels use (bench/wasm-models/ceilings.mjs), with nothing else
# (no loads, no softmax, no norms, no weight unpacking) taking any time.
ceil = load("ceilings")
res["ceilings"] = ceil
if isinstance(ceil, dict) and isinstance(br, dict):
    pk = ceil["peak_gmac_per_s"]
    md += ["## Ceilings: the ratio targets against the arithmetic's peak", "",
           f"Peak multiply-adds in Chromium's worker on this machine, no memory traffic, 12 independent "
           f"accumulators: `i32x4.dot_i16x8_s` + `i32x4.add` {pk['i16_dot_add']:.1f} GMAC/s (MiniLM's "
           f"matrices), `f32x4.mul` + `f32x4.add` {pk['f32_mul_add']:.1f} GMAC/s (the decoders' matrices "
           "and all attention; no fused multiply-add, so every build rounds alike). \"Floor\" is a pass's "
           "multiply-adds at those rates with everything else free; \"budget\" is the target ratio times "
           "the peer's time in this run.", "",
           "| target | multiply-adds | budget | floor at peak | floor ÷ budget | ours (engine alone) | ours at |",
           "|---|---|---|---|---|---|---|"]
    for model, name, peer_name, limit in [("minilm", "MiniLM", "ort-web", 0.4), ("smollm2", "SmolLM2", "wllama", 0.15)]:
        for n in ["32", "128"]:
            c, theirs = ceil.get(model, {}).get(n), peer(peer_name, model, n)
            ours = ours_engine(model, n) or ours_web(model, n)
            if not c or not theirs:
                continue
            budget = limit * theirs["median"]
            mat_peak = pk["i16_dot_add"] if model == "minilm" else pk["f32_mul_add"]
            floor = c["matrix_macs"] / mat_peak / 1e6 + c["attention_macs"] / pk["f32_mul_add"] / 1e6
            total = c["matrix_macs"] + c["attention_macs"]
            ours_ms = f"{ours['median']:.1f} ms" if ours else "—"
            rate = f"{total / ours['median'] / 1e6:.1f} GMAC/s" if ours else "—"
            md.append(f"| {name} {c['tokens']} tokens ≤ {limit}x {'ORT Web' if model == 'minilm' else 'wllama'} | "
                      f"{total / 1e9:.2f} G | {budget:.1f} ms | {floor:.1f} ms | {floor / budget:.0%} | {ours_ms} | {rate} |")
            if model == "smollm2":
                # An integer path for the decoders' matrices (not built: see README) at the i16 peak.
                floor_int = c["matrix_macs"] / pk["i16_dot_add"] / 1e6 + c["attention_macs"] / pk["f32_mul_add"] / 1e6
                md.append(f"| … the same with the matrices at the i16 peak | | {budget:.1f} ms | {floor_int:.1f} ms | "
                          f"{floor_int / budget:.0%} | | |")
    md.append("")
    (root / "bench/results.json").write_text(json.dumps(res, indent=1) + "\n")

(root / "bench/results.md").write_text("\n".join(md) + "\n")
print("\n".join(md))
