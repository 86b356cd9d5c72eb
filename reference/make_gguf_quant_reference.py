"""Reference dequantisation of every GGUF tensor type the app reads, by gguf-py (llama.cpp's own Python
package, numpy only), on seeded random blocks.

Each type gets a few blocks of random bytes in which the f16 scale fields are replaced by finite values
(so no block decodes to inf/NaN), and gguf-py's `dequantize` gives the floats they stand for.

    python3 -m venv .cache/quant-venv
    .cache/quant-venv/bin/pip install numpy==2.4.6 gguf==0.19.0
    .cache/quant-venv/bin/python reference/make_gguf_quant_reference.py > reference/gguf_quant_reference.json
"""
import json
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize

# type: (number of blocks, byte offsets of the f16 fields in a block)
TYPES = {
    "F32": (64, []),
    "F16": (64, []),
    "BF16": (64, []),
    "Q4_0": (8, [0]),
    "Q4_1": (8, [0, 2]),
    "Q5_0": (8, [0]),
    "Q5_1": (8, [0, 2]),
    "Q8_0": (8, [0]),
    "Q2_K": (3, [80, 82]),
    "Q3_K": (3, [108]),
    "Q4_K": (3, [0, 2]),
    "Q5_K": (3, [0, 2]),
    "Q6_K": (3, [208]),
}


def raw_blocks(rng, name, n_blocks, f16_fields):
    qtype = T[name]
    if name == "F32":
        return rng.standard_normal(n_blocks).astype(np.float32).view(np.uint8)
    if name == "F16":
        return rng.standard_normal(n_blocks).astype(np.float16).view(np.uint8)
    if name == "BF16":
        bits = rng.standard_normal(n_blocks).astype(np.float32).view(np.uint32) >> 16
        return bits.astype(np.uint16).view(np.uint8)
    _, type_size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for off in f16_fields:
        scale = rng.uniform(-0.05, 0.05, size=n_blocks).astype(np.float16).view(np.uint8).reshape(n_blocks, 2)
        raw[:, off:off + 2] = scale
    return raw.reshape(-1)


def main():
    rng = np.random.default_rng(20261129)
    out = {
        "about": "gguf-py dequantize() of seeded random blocks; regenerate with make_gguf_quant_reference.py",
        "gguf": gguf.__version__ if hasattr(gguf, "__version__") else "0.19.0",
        "numpy": np.__version__,
        "types": {},
    }
    for name, (n_blocks, fields) in TYPES.items():
        qtype = T[name]
        raw = raw_blocks(rng, name, n_blocks, fields)
        values = dequantize(raw, qtype).astype(np.float32).reshape(-1)
        assert np.isfinite(values).all(), name
        block, type_size = gguf.GGML_QUANT_SIZES[qtype]
        out["types"][name] = {
            "id": int(qtype.value),
            "block": block,
            "block_bytes": type_size,
            "raw_hex": raw.tobytes().hex(),
            # float32 values written as the shortest decimal that reads back to the same float32
            "values": [float(str(np.float32(v))) for v in values],
        }
    json.dump(out, sys.stdout, indent=0)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
