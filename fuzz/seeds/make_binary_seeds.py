"""Writes the hand-made binary fuzz seeds: a minimal GGUF (one key, one 2x2 F32 tensor) and a minimal
safetensors file (one F32 tensor). Run from fuzz/: python3 seeds/make_binary_seeds.py"""
import json
import pathlib
import struct

here = pathlib.Path(__file__).parent


def gguf_string(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf() -> bytes:
    out = b"GGUF" + struct.pack("<IQQ", 3, 1, 1)
    out += gguf_string("general.architecture") + struct.pack("<I", 8) + gguf_string("llama")
    # One tensor: name, n_dims, dims, type 0 (F32), offset 0.
    out += gguf_string("token_embd.weight") + struct.pack("<IQQIQ", 2, 2, 2, 0, 0)
    out += b"\0" * (-len(out) % 32)
    return out + struct.pack("<4f", 1.0, -0.5, 0.25, 2.0)


def safetensors() -> bytes:
    header = json.dumps({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    return struct.pack("<Q", len(header)) + header + struct.pack("<2f", 1.0, -2.0)


(here / "gguf" / "1").write_bytes(gguf())
(here / "safetensors" / "1").write_bytes(safetensors())
