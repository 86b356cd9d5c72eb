#!/usr/bin/env python3
"""ONNX export of all-MiniLM-L6-v2 (local safetensors) for the ONNX Runtime Web peer benchmark.

Writes (default --out-dir bench/out/ort):
  minilm.onnx         inputs input_ids / attention_mask / token_type_ids (int64, [1, seq], seq dynamic);
                      outputs last_hidden_state [1, seq, 384] and attn_0..attn_5 [1, 12, seq, seq]
                      (post-softmax attention probabilities of every layer, as our app computes them)
  minilm-hidden.onnx  same inputs, only last_hidden_state (what transformers.js feature-extraction runs;
                      ORT is free to fuse attention there)
  export.json         how it was exported + validation against PyTorch with the Python onnxruntime package

Export methods, tried in order with --method auto (default):
  legacy  torch.onnx.export(..., dynamo=False)  (TorchScript exporter), opset 17
  dynamo  torch.onnx.export(..., dynamo=True)   (needs onnxscript)
  helper  graph written op by op with onnx.helper straight from model.safetensors (opset 17:
          Gather/MatMul/Add/LayerNormalization/Softmax/Erf-GELU), no torch involved in the export

Validation: for the 10/34/130-token MiniLM inputs of bench/out/inputs.json, onnxruntime (CPU EP) vs
transformers BertModel(attn_implementation="eager"): max |diff| of attention must be < 1e-4 (and of the
last hidden state < 1e-3), else the script exits 1.
"""
import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OPSET = 17


class AllOutputs(torch.nn.Module):
    def __init__(self, bert, attentions=True):
        super().__init__()
        self.bert = bert
        self.attentions = attentions

    def forward(self, input_ids, attention_mask, token_type_ids):
        o = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                      output_attentions=self.attentions, return_dict=True)
        if self.attentions:
            return (o.last_hidden_state, *o.attentions)
        return o.last_hidden_state


def names(attentions, n_layers):
    outs = ["last_hidden_state"] + ([f"attn_{i}" for i in range(n_layers)] if attentions else [])
    return ["input_ids", "attention_mask", "token_type_ids"], outs


def example_inputs(n=16):
    ids = torch.tensor([[101] + [1996 + i for i in range(n - 2)] + [102]], dtype=torch.long)
    return ids, torch.ones_like(ids), torch.zeros_like(ids)


def export_legacy(model, path, attentions, n_layers):
    ins, outs = names(attentions, n_layers)
    dyn = {k: {1: "seq"} for k in ins}
    dyn["last_hidden_state"] = {1: "seq"}
    for o in outs[1:]:
        dyn[o] = {2: "seq", 3: "seq"}
    torch.onnx.export(AllOutputs(model, attentions).eval(), example_inputs(), path, dynamo=False, input_names=ins,
                      output_names=outs, dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=True)


def export_dynamo(model, path, attentions, n_layers):
    ins, outs = names(attentions, n_layers)
    seq = torch.export.Dim("seq", min=2, max=512)
    shapes = {"input_ids": {1: seq}, "attention_mask": {1: seq}, "token_type_ids": {1: seq}}
    prog = torch.onnx.export(AllOutputs(model, attentions).eval(), example_inputs(), dynamo=True, input_names=ins,
                             output_names=outs, dynamic_shapes=shapes, opset_version=18, external_data=False)
    prog.save(path, external_data=False)


def export_helper(model_dir, path, attentions, cfg):
    """BERT written op by op with onnx.helper from the raw safetensors (float32)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from safetensors.numpy import load_file

    W = load_file(os.path.join(model_dir, "model.safetensors"))
    W = {k.removeprefix("bert."): v for k, v in W.items()}
    H, d, L = cfg["num_attention_heads"], cfg["hidden_size"], cfg["num_hidden_layers"]
    hd, eps = d // H, cfg["layer_norm_eps"]
    nodes, inits = [], []

    def init(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(op, ins, out, **kw):
        nodes.append(helper.make_node(op, ins, [out], name=out, **kw))
        return out

    init("axes0", np.array([0], np.int64))  # also the Slice start 0
    init("shape_bshd", np.array([1, -1, H, hd], np.int64))
    init("shape_bsd", np.array([1, -1, d], np.int64))
    init("one", np.array(1.0, np.float32))
    init("neg", np.array(-3.4028234663852886e38, np.float32))
    init("scale", np.array(1.0 / math.sqrt(hd), np.float32))
    init("sqrt2", np.array(math.sqrt(2.0), np.float32))
    init("half", np.array(0.5, np.float32))
    # embeddings
    # position embeddings = rows [0, seq) of the table (Slice, as the usual BERT exports do)
    node("Shape", ["input_ids"], "ids_shape")
    node("Slice", ["ids_shape", init("s1", np.array([1], np.int64)), init("s2", np.array([2], np.int64))], "seq_len")
    node("Gather", [init("word_emb", W["embeddings.word_embeddings.weight"]), "input_ids"], "e_word")
    node("Slice", [init("pos_emb", W["embeddings.position_embeddings.weight"]), "axes0", "seq_len", "axes0"], "e_pos")
    node("Gather", [init("type_emb", W["embeddings.token_type_embeddings.weight"]), "token_type_ids"], "e_type")
    node("Add", ["e_word", "e_pos"], "e_wp")
    node("Add", ["e_wp", "e_type"], "e_sum")

    def ln(x, pfx, out):
        return node("LayerNormalization", [x, init(pfx + ".w", W[pfx + ".weight"]), init(pfx + ".b", W[pfx + ".bias"])],
                    out, axis=-1, epsilon=eps)

    def linear(x, pfx, out):
        node("MatMul", [x, init(pfx + ".wT", W[pfx + ".weight"].T)], out + "_mm")
        return node("Add", [out + "_mm", init(pfx + ".b", W[pfx + ".bias"])], out)

    x = ln("e_sum", "embeddings.LayerNorm", "emb")
    # additive mask [1,1,1,seq]: 0 where mask=1, float32 min where mask=0 (as transformers does)
    node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    node("Sub", ["one", "mask_f"], "mask_inv")
    node("Mul", ["mask_inv", "neg"], "mask_add2")
    node("Unsqueeze", ["mask_add2", init("axes12", np.array([1, 2], np.int64))], "mask_add")
    attn_outs = []
    for i in range(L):
        p = f"encoder.layer.{i}."
        heads = {}
        for nm in ("query", "key", "value"):
            t = linear(x, p + "attention.self." + nm, f"l{i}_{nm}")
            t = node("Reshape", [t, "shape_bshd"], f"l{i}_{nm}_r")
            heads[nm] = node("Transpose", [t], f"l{i}_{nm}_t", perm=[0, 2, 3, 1] if nm == "key" else [0, 2, 1, 3])
        node("MatMul", [heads["query"], heads["key"]], f"l{i}_qk")
        node("Mul", [f"l{i}_qk", "scale"], f"l{i}_s")
        node("Add", [f"l{i}_s", "mask_add"], f"l{i}_sm")
        a = node("Softmax", [f"l{i}_sm"], f"attn_{i}" if attentions else f"l{i}_p", axis=-1)
        attn_outs.append(a)
        node("MatMul", [a, heads["value"]], f"l{i}_ctx")
        node("Transpose", [f"l{i}_ctx"], f"l{i}_ctx_t", perm=[0, 2, 1, 3])
        node("Reshape", [f"l{i}_ctx_t", "shape_bsd"], f"l{i}_ctx_r")
        linear(f"l{i}_ctx_r", p + "attention.output.dense", f"l{i}_ao")
        node("Add", [f"l{i}_ao", x], f"l{i}_res1")
        x = ln(f"l{i}_res1", p + "attention.output.LayerNorm", f"l{i}_h1")
        linear(x, p + "intermediate.dense", f"l{i}_ff1")
        node("Div", [f"l{i}_ff1", "sqrt2"], f"l{i}_g_div")
        node("Erf", [f"l{i}_g_div"], f"l{i}_g_erf")
        node("Add", [f"l{i}_g_erf", "one"], f"l{i}_g_add")
        node("Mul", [f"l{i}_ff1", f"l{i}_g_add"], f"l{i}_g_mul")
        node("Mul", [f"l{i}_g_mul", "half"], f"l{i}_gelu")
        linear(f"l{i}_gelu", p + "output.dense", f"l{i}_ff2")
        node("Add", [f"l{i}_ff2", x], f"l{i}_res2")
        x = ln(f"l{i}_res2", p + "output.LayerNorm", "last_hidden_state" if i == L - 1 else f"l{i}_h2")
    i64 = lambda n: helper.make_tensor_value_info(n, TensorProto.INT64, [1, "seq"])  # noqa: E731
    outs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [1, "seq", d])]
    if attentions:
        outs += [helper.make_tensor_value_info(a, TensorProto.FLOAT, [1, H, "seq", "seq"]) for a in attn_outs]
    graph = helper.make_graph(nodes, "minilm", [i64("input_ids"), i64("attention_mask"), i64("token_type_ids")],
                              outs, inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="bench/ort/export_onnx.py")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)


def validate(path, model, inputs, attentions, n_layers):
    import onnxruntime as ort

    model.eval()  # an exporter may leave the (wrapped) model in training mode, i.e. with dropout on
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    res = {}
    for size, entry in sorted(inputs.items(), key=lambda kv: int(kv[0])):
        ids = np.array([entry["ids"]], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        got = sess.run(None, feed)
        with torch.inference_mode():
            o = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(feed["attention_mask"]),
                      token_type_ids=torch.from_numpy(feed["token_type_ids"]), output_attentions=True)
        r = {"tokens": int(ids.shape[1]),
             "last_hidden_max_abs_diff": float(np.abs(got[0] - o.last_hidden_state.numpy()).max())}
        if attentions:
            ref = np.stack([a.numpy() for a in o.attentions])
            r["attention_max_abs_diff"] = float(np.abs(np.stack(got[1:1 + n_layers]) - ref).max())
        res[size] = r
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", default=os.path.join(ROOT, "models", "minilm"))
    ap.add_argument("--inputs", default=os.path.join(ROOT, "bench", "out", "inputs.json"))
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "bench", "out", "ort"))
    ap.add_argument("--method", choices=["auto", "legacy", "dynamo", "helper"], default="auto")
    args = ap.parse_args()

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    import transformers
    from transformers import BertModel
    transformers.logging.set_verbosity_error()  # no load report for the unused pooler weights

    os.makedirs(args.out_dir, exist_ok=True)
    cfg = json.load(open(os.path.join(args.model_dir, "config.json")))
    model = BertModel.from_pretrained(args.model_dir, attn_implementation="eager", add_pooling_layer=False)
    model.eval()
    inputs = json.load(open(args.inputs))["minilm"]
    L = cfg["num_hidden_layers"]
    methods = ["legacy", "dynamo", "helper"] if args.method == "auto" else [args.method]
    report = {"opset": OPSET, "torch": torch.__version__, "variants": {}}
    import transformers
    import onnx
    report["transformers"] = transformers.__version__
    report["onnx"] = onnx.__version__
    try:
        import onnxruntime
        report["onnxruntime_python"] = onnxruntime.__version__
    except ImportError:
        pass

    ok = True
    for fname, attentions in (("minilm.onnx", True), ("minilm-hidden.onnx", False)):
        path = os.path.join(args.out_dir, fname)
        tmp = path + ".tmp"
        errors = {}
        for m in methods:
            t0 = time.time()
            try:
                for leftover in (tmp, tmp + ".data"):
                    if os.path.exists(leftover):
                        os.remove(leftover)
                if m == "legacy":
                    export_legacy(model, tmp, attentions, L)
                elif m == "dynamo":
                    export_dynamo(model, tmp, attentions, L)
                else:
                    export_helper(args.model_dir, tmp, attentions, cfg)
                v = validate(tmp, model, inputs, attentions, L)
                bad = [s for s, r in v.items() if r.get("attention_max_abs_diff", 0) >= 1e-4
                       or r["last_hidden_max_abs_diff"] >= 1e-3]
                if bad:
                    raise RuntimeError(f"validation failed at sizes {bad}: {v}")
                os.replace(tmp, path)
                report["variants"][fname] = {"method": m, "export_s": round(time.time() - t0, 2),
                                             "bytes": os.path.getsize(path), "validation_vs_torch": v,
                                             "outputs": names(attentions, L)[1],
                                             "failed_methods": errors}
                print(f"{fname}: exported with '{m}' in {time.time() - t0:.1f}s; validation {json.dumps(v)}",
                      file=sys.stderr)
                break
            except Exception as e:  # try the next method
                errors[m] = f"{type(e).__name__}: {str(e)[:500]}"
                print(f"{fname}: method '{m}' failed: {errors[m]}", file=sys.stderr)
        else:
            ok = False
            report["variants"][fname] = {"error": errors}
    with open(os.path.join(args.out_dir, "export.json"), "w") as f:
        json.dump(report, f, indent=1)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
