"""Value-weighted attention (Kobayashi et al. 2020) and the logit lens, computed with Hugging Face
transformers' own modules and tensors, for `attn --analysis` to be checked against. Unlike
make_analysis_reference.py these need the models' internals (value vectors, output projections, residual
streams), so they run the models: MiniLM from its safetensors folder, SmolLM2 from its GGUF (transformers'
GGUF loader dequantises the weights to float32), both with eager attention, on the token ids stored in
minilm_reference.json / smollm2_reference.json.

- value_weighted[layer][head][i][j] = A[i][j] * || v_j^h @ W_O^h ||_2: v_j^h the head's slice of the value
  projection's output (bias included; query head h reads K/V head h // (heads // kv_heads)), W_O^h the
  head's input columns of the attention output projection (weight @ x orientation, its bias left out).
- logit_lens[layer][position]: the five likeliest tokens (id, prob) of softmax(lm_head(final_norm(r))), r
  the residual stream leaving decoder block `layer` (captured with a forward hook).

    bash bench/venv.sh   # torch, transformers, gguf (pinned; .cache/bench-venv)
    ./x models           # models/minilm and models/smollm2
    HF_HUB_OFFLINE=1 .cache/bench-venv/bin/python reference/make_model_analysis_reference.py \\
        > reference/model_analysis_reference.json
"""
import json
import os
import pathlib
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM, BertModel

HERE = pathlib.Path(__file__).parent
MODELS = HERE.parent / "models"


def value_weighted(attn, values, w_out, heads, head_dim):
    # attn: (heads, n, n); values: (n, kv_heads*head_dim); w_out: (d_model, heads*head_dim)
    kv_heads = values.shape[1] // head_dim
    group = heads // kv_heads
    out = []
    for h in range(heads):
        kv = h // group
        v = values[:, kv * head_dim:(kv + 1) * head_dim]  # (n, head_dim)
        w = w_out[:, h * head_dim:(h + 1) * head_dim]  # (d_model, head_dim)
        norms = np.linalg.norm(v @ w.T, axis=1)  # (n,)
        out.append((attn[h] * norms[None, :]).tolist())
    return out


def minilm(sentences):
    model = BertModel.from_pretrained(MODELS / "minilm", attn_implementation="eager", add_pooling_layer=False)
    model.eval()
    cfg = model.config
    heads, head_dim = cfg.num_attention_heads, cfg.hidden_size // cfg.num_attention_heads
    items = []
    for s in sentences:
        values = {}
        hooks = [layer.attention.self.value.register_forward_hook(
                     lambda mod, inp, out, l=l: values.__setitem__(l, out[0].detach().numpy().astype(np.float64)))
                 for l, layer in enumerate(model.encoder.layer)]
        with torch.no_grad():
            out = model(torch.tensor([s["input_ids"]]), output_attentions=True)
        for h in hooks:
            h.remove()
        vw = []
        for l, layer in enumerate(model.encoder.layer):
            attn = out.attentions[l][0].numpy().astype(np.float64)
            w_out = layer.attention.output.dense.weight.detach().numpy().astype(np.float64)
            vw.append(value_weighted(attn, values[l], w_out, heads, head_dim))
        items.append({"text": s["text"], "ids": s["input_ids"], "value_weighted": vw})
    return items


def smollm2(sentences):
    gguf = next((MODELS / "smollm2").glob("*.gguf"))
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, attn_implementation="eager",
                                                 dtype=torch.float32)
    model.eval()
    cfg = model.config
    heads, head_dim = cfg.num_attention_heads, cfg.hidden_size // cfg.num_attention_heads
    blocks = model.model.layers
    items = []
    for s in sentences:
        values, residual = {}, {}
        hooks = []
        for l, block in enumerate(blocks):
            hooks.append(block.self_attn.v_proj.register_forward_hook(
                lambda mod, inp, out, l=l: values.__setitem__(l, out[0].detach().numpy().astype(np.float64))))
            hooks.append(block.register_forward_hook(
                lambda mod, inp, out, l=l: residual.__setitem__(l, (out[0] if isinstance(out, tuple) else out).detach())))
        with torch.no_grad():
            out = model(torch.tensor([s["token_ids"]]), output_attentions=True)
            lens = []
            for l in range(len(blocks)):
                logits = model.lm_head(model.model.norm(residual[l]))[0]  # (n, vocab)
                probs = torch.softmax(logits.double(), dim=-1)
                top = torch.topk(probs, 5, dim=-1)
                lens.append([[{"id": int(i), "prob": float(p)} for i, p in zip(ids, ps)]
                             for ids, ps in zip(top.indices.tolist(), top.values.tolist())])
        for h in hooks:
            h.remove()
        vw = []
        for l, block in enumerate(blocks):
            attn = out.attentions[l][0].numpy().astype(np.float64)
            w_out = block.self_attn.o_proj.weight.detach().numpy().astype(np.float64)
            vw.append(value_weighted(attn, values[l], w_out, heads, head_dim))
        items.append({"text": s["text"], "ids": s["token_ids"], "value_weighted": vw, "logit_lens": lens})
    return items


def main():
    torch.set_grad_enabled(False)
    mini = json.loads((HERE / "minilm_reference.json").read_text())["sentences"][:2]
    smol = json.loads((HERE / "smollm2_reference.json").read_text())["sentences"][:1]
    out = {
        "about": "HF transformers (eager attention, float32); make_model_analysis_reference.py",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "models": {"minilm": minilm(mini), "smollm2": smollm2(smol)},
    }
    # Seven significant digits: float32 precision, half the file.
    json.dump(round_floats(out), sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


def round_floats(x):
    if isinstance(x, float):
        return float(f"{x:.7g}")
    if isinstance(x, list):
        return [round_floats(v) for v in x]
    if isinstance(x, dict):
        return {k: round_floats(v) for k, v in x.items()}
    return x


if __name__ == "__main__":
    main()
