"""Compare the candle-wasm peer's first hidden-state row (8-token input) against PyTorch.

    .cache/bench-venv/bin/python bench/candle/check_torch.py

Reads bench/out/candle/first_row_8.json (written by run.mjs) and runs transformers' BertModel on
models/minilm with the same ids (token_type_ids 0, attention mask 1). Exits 1 if max |diff| >= 1e-3.
"""
import json
import pathlib
import sys

import torch
from transformers import BertModel

root = pathlib.Path(__file__).resolve().parents[2]
got = json.loads((root / "bench/out/candle/first_row_8.json").read_text())
model = BertModel.from_pretrained(str(root / "models/minilm")).eval()
ids = torch.tensor([got["ids"]])
with torch.no_grad():
    ref = model(input_ids=ids, token_type_ids=torch.zeros_like(ids), attention_mask=torch.ones_like(ids)).last_hidden_state[0, 0]
diff = (ref - torch.tensor(got["row"])).abs().max().item()
print(f"torch row0[:8] = {[round(x, 5) for x in ref[:8].tolist()]}")
print(f"max |candle-wasm - torch| over row 0 ({ref.numel()} values) = {diff:.3e}")
sys.exit(0 if diff < 1e-3 else 1)
