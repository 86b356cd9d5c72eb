"""Attention rollout and head-role scores computed with numpy from Hugging Face transformers' own attention
(the `attentions` already stored in minilm_reference.json and smollm2_reference.json), independently of the
Rust code, for `attn --analysis` to be checked against.

Definitions (README, "The attn CLI"):
- rollout: A_hat_l = (mean over heads of A_l + I) / 2; rollout_0 = A_hat_0, rollout_l = A_hat_l @ rollout_(l-1)
- previous_token: mean over queries i >= 1 of A[i][i-1]
- first_token: mean over queries of A[i][0]
- self: mean of A[i][i]
- entropy_bits: mean over queries of -sum_j A[i][j] log2 A[i][j]
- mean_distance: mean over queries of sum_j A[i][j] |i - j|
- duplicate_token: over queries i with an earlier token j of the same id, mean of sum_{j<i, id_j = id_i} A[i][j]
  (null if no token repeats)
Induction needs the model's attention on a repeated sequence, which the stored references do not have; it
is checked on the model itself (tests/cli.rs).

    .cache/quant-venv/bin/python reference/make_analysis_reference.py > reference/analysis_reference.json
(any Python with numpy; see make_gguf_quant_reference.py for the venv)
"""
import json
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).parent


def rollout(att):  # att: (layers, heads, n, n)
    n = att.shape[-1]
    out, prev = [], None
    for layer in att:
        a_hat = (layer.mean(axis=0) + np.eye(n)) / 2.0
        prev = a_hat if prev is None else a_hat @ prev
        out.append(prev)
    return out


def roles(att, ids):
    layers, heads, n, _ = att.shape
    idx = np.arange(n)
    dist = np.abs(idx[:, None] - idx[None, :])
    dup_queries = [i for i in range(n) if ids[i] in ids[:i]]
    out = {k: [] for k in ["previous_token", "first_token", "self", "entropy_bits", "mean_distance", "duplicate_token"]}
    for l in range(layers):
        rows = {k: [] for k in out}
        for h in range(heads):
            a = att[l, h]
            rows["previous_token"].append(float(np.mean([a[i, i - 1] for i in range(1, n)])) if n > 1 else 0.0)
            rows["first_token"].append(float(a[:, 0].mean()))
            rows["self"].append(float(np.diag(a).mean()))
            with np.errstate(divide="ignore", invalid="ignore"):
                ent = np.where(a > 0, -a * np.log2(a), 0.0).sum(axis=1)
            rows["entropy_bits"].append(float(ent.mean()))
            rows["mean_distance"].append(float((a * dist).sum(axis=1).mean()))
            if dup_queries:
                per = [sum(a[i, j] for j in range(i) if ids[j] == ids[i]) for i in dup_queries]
                rows["duplicate_token"].append(float(np.mean(per)))
            else:
                rows["duplicate_token"].append(None)
        for k in out:
            out[k].append(rows[k])
    return out


def main():
    out = {"about": "numpy from HF transformers' stored attentions; make_analysis_reference.py", "models": {}}
    minilm = json.loads((HERE / "minilm_reference.json").read_text())
    smollm2 = json.loads((HERE / "smollm2_reference.json").read_text())
    cases = [
        ("minilm", [(s["text"], s["input_ids"], s["attentions"]) for s in minilm["sentences"][:4]]),
        ("smollm2", [(s["text"], s["token_ids"], s["attention"]) for s in smollm2["sentences"]
                     if s["attention_layers"] == list(range(30))]),
    ]
    for model, sentences in cases:
        items = []
        for text, ids, att in sentences:
            att = np.asarray(att, dtype=np.float64)
            items.append({
                "text": text,
                "ids": ids,
                "rollout": [r.tolist() for r in rollout(att)],
                "head_roles": roles(att, ids),
            })
        out["models"][model] = items
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
