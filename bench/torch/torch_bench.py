#!/usr/bin/env python3
"""Peer benchmark: PyTorch on CPU (eager, float32, inference_mode) running the same two models as our app,
from local files only (HF_HUB_OFFLINE=1):
  * all-MiniLM-L6-v2: transformers BertModel(attn_implementation="eager"), output_attentions=True
    (all 6x12 attention matrices + last hidden state), models/minilm/model.safetensors
  * SmolLM2-135M-Instruct: transformers LlamaForCausalLM from models/smollm2/*.Q4_1.gguf through transformers'
    GGUF loader (every tensor dequantized to float32), eager attention, output_attentions=True, full logits
    for every position, use_cache=False
Inputs are the exact ids of bench/out/inputs.json (batch 1, no padding; MiniLM mask 1 / token types 0).
Main results use torch.set_num_threads(1) (our app's forward is single-threaded); with --extra (default) the
same runs with torch's default thread count are added under "extra".

Writes bench/out/peer-pytorch-cpu.json; on failure still writes it, with status "unavailable" + reason,
and exits 0.
  python bench/torch/torch_bench.py [--runs N] [--warmup 2] [--no-extra] [--out FILE]
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time
import traceback

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SIZES = ["8", "32", "128"]
WARMUP = 2


def write(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.relpath(path, ROOT)} (status {obj['status']})", file=sys.stderr)


def stats(times, tokens, outputs):
    s = sorted(times)
    return {"median_ms": statistics.median(s) if len(s) % 2 else s[len(s) // 2], "min_ms": s[0], "max_ms": s[-1],
            "runs": len(s), "tokens": tokens, "outputs": outputs}


def cpu_jiffies():
    """(busy, total) jiffies of the whole machine from /proc/stat, or None."""
    try:
        v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        return sum(v[:8]) - idle, sum(v[:8])
    except Exception:
        return None


def other_load(before, after, self_before, self_after):
    """CPU used by other processes during a measurement, in cores (0 = quiet machine)."""
    if not before or not after:
        return None
    busy, total = after[0] - before[0], after[1] - before[1]
    if total <= 0:
        return None
    ncpu = os.cpu_count() or 1
    own = (self_after - self_before) * os.sysconf("SC_CLK_TCK")
    return round(max(0.0, (busy - own) / total * ncpu), 3)


def bench(fn, runs, warmup=None):
    out = None
    for _ in range(WARMUP if warmup is None else warmup):
        out = fn()
    times = []
    j0, c0 = cpu_jiffies(), time.process_time()
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    bench.other_cores = other_load(j0, cpu_jiffies(), c0, time.process_time())
    return times, out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=None, help="timed runs per size (default 7, and 5 at 128)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed runs before each size (default 2)")
    ap.add_argument("--no-extra", action="store_true", help="skip the default-thread-count rows")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out", "peer-pytorch-cpu.json"))
    ap.add_argument("--inputs", default=os.path.join(ROOT, "bench", "out", "inputs.json"))
    ap.add_argument("--minilm-dir", default=os.path.join(ROOT, "models", "minilm"))
    ap.add_argument("--gguf", default=os.path.join(ROOT, "models", "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--models", default="minilm,smollm2")
    args = ap.parse_args()
    global WARMUP
    WARMUP = args.warmup
    runs_for = lambda size: args.runs or (5 if size == "128" else 7)  # noqa: E731

    label = "PyTorch CPU (eager, float32, 1 thread)"
    try:
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, BertModel
        transformers.logging.set_verbosity_error()  # no load reports (e.g. the unused pooler weights)
    except Exception as e:
        write(args.out, {"peer": "pytorch-cpu", "label": label, "status": "unavailable",
                         "reason": f"cannot import torch/transformers: {type(e).__name__}: {e}"})
        return

    default_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except Exception:
        pass
    label = (f"PyTorch {torch.__version__.split('+')[0]} CPU + transformers {transformers.__version__}, eager, float32, "
             f"inference_mode, 1 thread, all attentions output")
    inputs = json.load(open(args.inputs))
    out = {"peer": "pytorch-cpu", "label": label, "status": "ok", "results": {}, "extra": {}, "check": {}}
    details = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "python": platform.python_version(),
               "torch": torch.__version__, "transformers": transformers.__version__, "cpu": cpu,
               "os_cpu_count": os.cpu_count(), "torch_default_threads": default_threads,
               "mkldnn": torch.backends.mkldnn.is_available(), "loadavg_before": list(os.getloadavg()),
               "warmup_runs": WARMUP, "timing": "time.perf_counter() around the model call only",
               "other_processes_cores": "CPU used by other processes during the timed runs, in cores "
                                        "(/proc/stat minus our own CPU time; ~0 = quiet machine)",
               "load_ms": {}, "errors": {}, "runs": {}}
    wanted = args.models.split(",")

    def run_model(name, model, call, outputs, checker):
        rows, rows_extra = {}, {}
        details["runs"][name] = {}
        for size in SIZES:
            ids = torch.tensor([inputs[name][size]["ids"]], dtype=torch.long)
            torch.set_num_threads(1)
            with torch.inference_mode():
                times, o = bench(lambda: call(model, ids), runs_for(size))
            rows[size] = stats(times, ids.shape[1], outputs)
            details["runs"][name][size] = {"times_ms": times, "other_processes_cores": bench.other_cores}
            out["check"].setdefault(name, {})[size] = checker(o)
            if not args.no_extra and default_threads > 1:
                torch.set_num_threads(default_threads)
                with torch.inference_mode():
                    times2, _ = bench(lambda: call(model, ids), runs_for(size))
                torch.set_num_threads(1)
                rows_extra[size] = stats(times2, ids.shape[1], outputs)
                details["runs"][name][size][f"times_ms_threads_{default_threads}"] = times2
                details["runs"][name][size][f"other_processes_cores_threads_{default_threads}"] = bench.other_cores
            print(f"{name} {size}: {rows[size]['median_ms']:.2f} ms"
                  + (f" ({default_threads} threads: {rows_extra[size]['median_ms']:.2f} ms)" if rows_extra else ""),
                  file=sys.stderr)
        out["results"][name] = rows
        if rows_extra:
            out["extra"][("threads_%d" if name == "minilm" else f"{name}_threads_%d") % default_threads] = rows_extra

    # ---------------------------------------------------------------------------------------- MiniLM
    if "minilm" in wanted:
        try:
            if not os.path.isfile(os.path.join(args.minilm_dir, "model.safetensors")):
                raise FileNotFoundError(f"no model.safetensors in {args.minilm_dir}")
            t0 = time.perf_counter()
            bert = BertModel.from_pretrained(args.minilm_dir, attn_implementation="eager", add_pooling_layer=False,
                                             dtype=torch.float32).eval()
            details["load_ms"]["minilm"] = (time.perf_counter() - t0) * 1000.0

            def call_bert(m, ids):
                return m(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids),
                         output_attentions=True, return_dict=True)

            def check_bert(o):
                assert len(o.attentions) == 6 and tuple(o.attentions[0].shape[1:2]) == (12,)
                return {"last_hidden_first_row_first8": [float(x) for x in o.last_hidden_state[0, 0, :8]],
                        "attention_row_sum_max_abs_dev": float(
                            (torch.stack(o.attentions).double().sum(-1) - 1).abs().max())}

            run_model("minilm", bert, call_bert, "all attentions + last hidden state", check_bert)
            del bert
        except Exception as e:
            details["errors"]["minilm"] = f"{type(e).__name__}: {e}"
            traceback.print_exc()

    # ---------------------------------------------------------------------------------------- SmolLM2
    if "smollm2" in wanted:
        try:
            if not os.path.isfile(args.gguf):
                raise FileNotFoundError(f"no GGUF at {args.gguf}")
            t0 = time.perf_counter()
            llm = AutoModelForCausalLM.from_pretrained(os.path.dirname(args.gguf), gguf_file=os.path.basename(args.gguf),
                                                       attn_implementation="eager", dtype=torch.float32).eval()
            details["load_ms"]["smollm2"] = (time.perf_counter() - t0) * 1000.0
            details["smollm2_class"] = type(llm).__name__
            details["smollm2_param_dtype"] = str(next(llm.parameters()).dtype)

            def call_llm(m, ids):
                return m(input_ids=ids, output_attentions=True, use_cache=False, return_dict=True)

            def check_llm(o):
                assert len(o.attentions) == llm.config.num_hidden_layers
                return {"logits_first_row_first8": [float(x) for x in o.logits[0, 0, :8]],
                        "logits_shape": list(o.logits.shape),
                        "argmax_next_last_position": int(o.logits[0, -1].argmax()),
                        "attention_row_sum_max_abs_dev": float(
                            (torch.stack(o.attentions).double().sum(-1) - 1).abs().max())}

            run_model("smollm2", llm, call_llm, "all attentions + logits for every position", check_llm)
            del llm
        except Exception as e:
            details["errors"]["smollm2"] = f"{type(e).__name__}: {e}"
            traceback.print_exc()

    details["loadavg_after"] = list(os.getloadavg())
    if not out["results"]:
        write(args.out, {"peer": "pytorch-cpu", "label": label, "status": "unavailable",
                         "reason": "; ".join(f"{k}: {v}" for k, v in details["errors"].items())[:2000],
                         "details": details})
        return
    if not details["errors"]:
        del details["errors"]
    out["load_ms"] = details["load_ms"].get("minilm")
    details["load_ms_note"] = ("load_ms = MiniLM from_pretrained (safetensors); SmolLM2 (GGUF dequantized to f32) "
                               "is in details.load_ms.smollm2")
    if not out["extra"]:
        del out["extra"]
    else:
        details["extra_labels"] = {k: label.replace("1 thread", f"{default_threads} threads (torch default)")
                                   + (" (SmolLM2)" if k.startswith("smollm2") else "") for k in out["extra"]}
    out["details"] = details
    write(args.out, out)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # never fail the caller: record why
        p = os.path.join(ROOT, "bench", "out", "peer-pytorch-cpu.json")
        if "--out" in sys.argv:
            p = sys.argv[sys.argv.index("--out") + 1]
        write(p, {"peer": "pytorch-cpu", "label": "PyTorch CPU", "status": "unavailable",
                  "reason": f"torch_bench.py crashed: {type(e).__name__}: {e}"[:2000]})
    sys.exit(0)
