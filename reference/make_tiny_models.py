"""Tiny random-weight models of every decoder family the app opens, as GGUF files in every tensor type,
with Hugging Face transformers' attentions and next-token choices as the reference.

Output (committed as test fixtures, `reference/tiny/`):
  tiny/<model>.<TYPE>.gguf   the model file (llama.cpp's layout and metadata, written by gguf-py)
  tiny/*-hf/                 two decoders as Hugging Face folders (config.json, float16 model.safetensors,
                             tokenizer.json), their references under "hf_folders"
  tiny/spm-tokenizer.json    a Llama 2-style SentencePiece BPE tokenizer.json; as GGUF metadata and with HF's ids
                             under "sentencepiece"
  tiny/bert-cased-tokenizer.json  a cased BertNormalizer on bert-tiny's vocabulary ("cased" ids)
  tiny/bert-tiny/            a tiny uncased BERT as a Hugging Face folder (config.json, model.safetensors,
                             vocab.txt, tokenizer.json), its reference under "bert_folder"
  tiny/tiny_reference.json   ("pre_tokenizers") HF's token ids of hard strings under each GGUF pre-tokenizer;
                             per file: config, token ids, HF attentions [layer][head][q][k], argmax next token
                             at every position, top-5 ids after the last token

How the reference is made: weights are drawn in the GGUF's layout, stored in the file's type, decoded
again with gguf-py's `dequantize` (what HF's own GGUF loader calls), rearranged into HF's layout (llama:
llama.cpp's converter permutes W_query/W_key rows for its RoPE; the inverse permutation is applied) and
loaded into the HF model class (LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM), run in float32
with eager attention. K-quant types (Q2_K..Q6_K) have no quantiser in gguf-py, so their blocks are
seeded random bytes with small finite f16 scales, decoded by gguf-py the same way.

Shapes are awkward on purpose: 6 and 12 query heads, K/V-head ratios 1, 2, 3 (multi-query) and 4, and
qwen3 with 12 x 16 = 192-wide attention on a 96-wide residual stream.

    bash bench/venv.sh                                   # torch, transformers, gguf (see requirements)
    .cache/bench-venv/bin/python reference/make_tiny_models.py
"""
import json
import os
import sys

import numpy as np
import torch
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "tiny")

CORPUS = [
    "The cat sat on the mat. The dog ate the bone.",
    "Your journey starts with one step, and the next one follows.",
    "the animal didn't cross the street because it was too tired",
    "Attention is all you need; attention weights sum to one.",
    "1234 + 5678 = 6912",
]
VOCAB = 320
SEQUENCES = [
    "The cat sat on the mat.",
    "Your journey starts with one step, and the animal was tired.",
]

# name, arch, hidden, heads, kv_heads, head_dim, ffn, layers, tied, types
MODELS = [
    ("llama-gqa", "llama", 96, 6, 3, 16, 128, 2, False,
     ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"]),
    ("llama-mqa", "llama", 96, 3, 1, 32, 128, 2, True, ["Q8_0"]),
    ("qwen2-mha", "qwen2", 96, 6, 6, 16, 128, 2, True, ["F32", "Q4_1"]),
    ("qwen3-gqa4", "qwen3", 96, 12, 3, 16, 128, 2, False, ["F16", "Q5_0"]),
    # K-quant blocks hold 256 weights, so every matrix is 256 wide here.
    ("llama-kquant", "llama", 256, 8, 2, 32, 256, 1, True, ["Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"]),
    # GPT-2: LayerNorm, learned positions, fused QKV, GELU; 3 heads of 32.
    ("gpt2-tiny", "gpt2", 96, 3, 3, 32, 384, 1, True, ["Q8_0"]),
    # Gemma 3: head_dim 48 on a 32-wide stream, multi-query, a sliding window of 4 on layers 0-4,
    # layer 5 global (llama.cpp's every-sixth pattern).
    ("gemma3-tiny", "gemma3", 32, 2, 1, 48, 64, 6, True, ["Q8_0"]),
]

# K-quant types: byte offsets of the f16 scale fields in a block, and the scale drawn for them.
K_SCALES = {"Q2_K": ([80, 82], 0.002), "Q3_K": ([108], 0.002), "Q4_K": ([0, 2], 0.00004),
            "Q5_K": ([0, 2], 0.00002), "Q6_K": ([208], 0.0001)}


def train_tokenizer():
    tok = Tokenizer(models.BPE())
    # SmolLM2's (llama.cpp "smollm") pre-tokenizer: single digits, then GPT-2's byte-level regex.
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|endoftext|>"], show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def tokenizer_metadata(tok):
    data = json.loads(tok.to_str())
    vocab = data["model"]["vocab"]
    tokens = [None] * len(vocab)
    for t, i in vocab.items():
        tokens[i] = t
    merges = [m if isinstance(m, str) else " ".join(m) for m in data["model"]["merges"]]
    types = [3 if t == "<|endoftext|>" else 1 for t in tokens]
    return tokens, merges, types


def permute(w, n_head):
    """llama.cpp's converter: HF rotate_half pairs (i, i + d/2) become adjacent (2i, 2i + 1)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute(w, n_head):
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def stored(rng, w, qtype):
    """(bytes for the file, raw dtype shape, values gguf-py decodes them to) for a float32 matrix `w`."""
    if qtype == "F32":
        return w.astype(np.float32), w.astype(np.float32)
    if qtype == "F16":
        h = w.astype(np.float16)
        return h, h.astype(np.float32)
    if qtype in K_SCALES:
        fields, scale = K_SCALES[qtype]
        block, size = gguf.GGML_QUANT_SIZES[T[qtype]]
        n_blocks = w.size // block
        raw = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
        for off in fields:
            s = rng.uniform(0.3 * scale, scale, size=n_blocks).astype(np.float16).view(np.uint8).reshape(n_blocks, 2)
            raw[:, off:off + 2] = s
        raw = raw.reshape(w.shape[0], -1)
        return raw, dequantize(raw, T[qtype]).astype(np.float32).reshape(w.shape)
    q = quantize(w.astype(np.float32), T[qtype])
    return q, dequantize(q, T[qtype]).astype(np.float32).reshape(w.shape)


def gpt2_body(w, rng, spec, vocab, qtype, path):
    """GPT-2 in llama.cpp's GGUF layout (Linear orientation; fused QKV) and as GPT2LMHeadModel (Conv1D:
    the transposes)."""
    import transformers as tf
    name, arch, hidden, heads, kv, hd, ffn, layers, tied, _ = spec
    hf = {}

    def matrix(gguf_name, hf_name, rows, cols, std, conv=True):
        x = rng.standard_normal((rows, cols)).astype(np.float32) * std
        data, back = stored(rng, x, qtype)
        w.add_tensor(gguf_name, data, raw_dtype=None if qtype in ("F32", "F16") else T[qtype])
        hf[hf_name] = back.T.copy() if conv else back

    def vector(gguf_name, hf_name, n, center, std):
        v = (center + rng.standard_normal(n) * std).astype(np.float32)
        w.add_tensor(gguf_name, v)
        hf[hf_name] = v

    matrix("token_embd.weight", "transformer.wte.weight", vocab, hidden, 0.5, conv=False)
    matrix("position_embd.weight", "transformer.wpe.weight", 64, hidden, 0.3, conv=False)
    for l in range(layers):
        p, b = f"transformer.h.{l}.", f"blk.{l}."
        vector(b + "attn_norm.weight", p + "ln_1.weight", hidden, 1.0, 0.1)
        vector(b + "attn_norm.bias", p + "ln_1.bias", hidden, 0.0, 0.1)
        matrix(b + "attn_qkv.weight", p + "attn.c_attn.weight", 3 * hidden, hidden, 0.15)
        vector(b + "attn_qkv.bias", p + "attn.c_attn.bias", 3 * hidden, 0.0, 0.2)
        matrix(b + "attn_output.weight", p + "attn.c_proj.weight", hidden, hidden, 0.1)
        vector(b + "attn_output.bias", p + "attn.c_proj.bias", hidden, 0.0, 0.1)
        vector(b + "ffn_norm.weight", p + "ln_2.weight", hidden, 1.0, 0.1)
        vector(b + "ffn_norm.bias", p + "ln_2.bias", hidden, 0.0, 0.1)
        matrix(b + "ffn_up.weight", p + "mlp.c_fc.weight", ffn, hidden, 0.1)
        vector(b + "ffn_up.bias", p + "mlp.c_fc.bias", ffn, 0.0, 0.1)
        matrix(b + "ffn_down.weight", p + "mlp.c_proj.weight", hidden, ffn, 0.1)
        vector(b + "ffn_down.bias", p + "mlp.c_proj.bias", hidden, 0.0, 0.1)
    vector("output_norm.weight", "transformer.ln_f.weight", hidden, 1.0, 0.1)
    vector("output_norm.bias", "transformer.ln_f.bias", hidden, 0.0, 0.1)
    hf["lm_head.weight"] = hf["transformer.wte.weight"]
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    config = tf.GPT2Config(vocab_size=vocab, n_positions=64, bos_token_id=0, eos_token_id=0, n_embd=hidden, n_layer=layers, n_head=heads,
                           activation_function="gelu_new", layer_norm_epsilon=1e-5, attn_implementation="eager")
    model = tf.GPT2LMHeadModel(config).eval()
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in hf.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith("attn.bias") and not m.endswith("masked_bias")]
    assert not missing and not unexpected, (missing, unexpected)
    return path, model


def gemma3_body(w, rng, spec, vocab, qtype, path):
    """Gemma 3 in llama.cpp's layout (norm weights stored as 1 + w, as its converter does) and as
    Gemma3ForCausalLM."""
    import transformers as tf
    name, arch, hidden, heads, kv, hd, ffn, layers, tied, _ = spec
    window = 4
    w.add_sliding_window(window)
    hf = {}

    def matrix(gguf_name, hf_name, rows, cols, std):
        x = rng.standard_normal((rows, cols)).astype(np.float32) * std
        data, back = stored(rng, x, qtype)
        w.add_tensor(gguf_name, data, raw_dtype=None if qtype in ("F32", "F16") else T[qtype])
        hf[hf_name] = back

    def norm(gguf_name, hf_name, n):
        v = (rng.standard_normal(n) * 0.1).astype(np.float32)
        w.add_tensor(gguf_name, (v + 1.0).astype(np.float32))
        hf[hf_name] = (v + 1.0).astype(np.float32) - 1.0  # what 1 + w gives back in f32

    matrix("token_embd.weight", "model.embed_tokens.weight", vocab, hidden, 0.3)
    for l in range(layers):
        p, b = f"model.layers.{l}.", f"blk.{l}."
        norm(b + "attn_norm.weight", p + "input_layernorm.weight", hidden)
        matrix(b + "attn_q.weight", p + "self_attn.q_proj.weight", heads * hd, hidden, 0.3)
        matrix(b + "attn_k.weight", p + "self_attn.k_proj.weight", kv * hd, hidden, 0.3)
        matrix(b + "attn_v.weight", p + "self_attn.v_proj.weight", kv * hd, hidden, 0.3)
        norm(b + "attn_q_norm.weight", p + "self_attn.q_norm.weight", hd)
        norm(b + "attn_k_norm.weight", p + "self_attn.k_norm.weight", hd)
        matrix(b + "attn_output.weight", p + "self_attn.o_proj.weight", hidden, heads * hd, 0.1)
        norm(b + "post_attention_norm.weight", p + "post_attention_layernorm.weight", hidden)
        norm(b + "ffn_norm.weight", p + "pre_feedforward_layernorm.weight", hidden)
        matrix(b + "ffn_gate.weight", p + "mlp.gate_proj.weight", ffn, hidden, 0.2)
        matrix(b + "ffn_up.weight", p + "mlp.up_proj.weight", ffn, hidden, 0.2)
        matrix(b + "ffn_down.weight", p + "mlp.down_proj.weight", hidden, ffn, 0.2)
        norm(b + "post_ffw_norm.weight", p + "post_feedforward_layernorm.weight", hidden)
    norm("output_norm.weight", "model.norm.weight", hidden)
    hf["lm_head.weight"] = hf["model.embed_tokens.weight"]
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    config = tf.Gemma3TextConfig(
        vocab_size=vocab, hidden_size=hidden, intermediate_size=ffn, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=kv, head_dim=hd, query_pre_attn_scalar=hd,
        sliding_window=window, layer_types=["sliding_attention"] * 5 + ["full_attention"],
        rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                         "full_attention": {"rope_type": "default", "rope_theta": 1000000.0}},
        max_position_embeddings=64, rms_norm_eps=1e-6, tie_word_embeddings=True,
        bos_token_id=1, eos_token_id=2, pad_token_id=0, attn_implementation="eager")
    model = tf.Gemma3ForCausalLM(config).eval()
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in hf.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if "rotary" not in m]
    assert not missing and not unexpected, (missing, unexpected)
    return path, model


def build(spec, tok_meta, qtype, seed, spm=None, split_name=None):
    name, arch, hidden, heads, kv, hd, ffn, layers, tied, _ = spec
    rng = np.random.default_rng(seed)
    tokens, merges, types = tok_meta
    if spm is not None:
        tokens, types = spm["tokens"], spm["token_types"]
    vocab = len(tokens)
    path = os.path.join(OUT, f"{split_name or name}.{qtype}.gguf")
    # `split_name`: the same model written as llama.cpp's split files (-0000k-of-0000N.gguf).
    w = gguf.GGUFWriter(path, arch, split_max_tensors=6 if split_name else 0)
    w.add_name(f"tiny-{name}")
    w.add_context_length(64)
    w.add_embedding_length(hidden)
    w.add_block_count(layers)
    w.add_feed_forward_length(ffn)
    w.add_head_count(heads)
    w.add_head_count_kv(kv)
    w.add_key_length(hd)
    w.add_value_length(hd)
    w.add_rope_dimension_count(hd)
    rope_base = 10000.0 if arch == "llama" else 1000000.0
    eps = 1e-5 if arch in ("llama", "gpt2") else 1e-6
    if arch == "gpt2":
        w.add_layer_norm_eps(eps)
    else:
        w.add_rope_freq_base(rope_base)
        w.add_layer_norm_rms_eps(eps)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    if spm is not None:
        # A SentencePiece ('llama') tokenizer: scores instead of merges, BOS and '▁' prefix added.
        w.add_tokenizer_model("llama")
        w.add_token_list(tokens)
        w.add_token_scores(spm["scores"])
        w.add_token_types(types)
        w.add_bos_token_id(1)
        w.add_add_bos_token(True)
        w.add_add_space_prefix(arch != "gemma3")
    else:
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("gpt-2" if arch == "gpt2" else "smollm")
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)

    hf = {}  # HF parameter name -> float32 array (what gguf-py decodes the file's bytes to)

    def matrix(gguf_name, hf_name, rows, cols, std, qk_heads=None):
        x = rng.standard_normal((rows, cols)).astype(np.float32) * std
        data, back = stored(rng, x, qtype)
        raw_type = None if qtype in ("F32", "F16") else T[qtype]
        w.add_tensor(gguf_name, data, raw_dtype=raw_type)
        if qk_heads is not None and arch == "llama":
            back = unpermute(back, qk_heads)
        hf[hf_name] = back

    def vector(gguf_name, hf_name, n, center, std):
        v = (center + rng.standard_normal(n) * std).astype(np.float32)
        w.add_tensor(gguf_name, v)
        hf[hf_name] = v

    q_dim, kv_dim = heads * hd, kv * hd
    # The multi-query llama also carries Llama 3.1's RoPE scaling (rope_freqs.weight, as llama.cpp's
    # converter computes it); a short original context makes it move the frequencies these tokens use.
    llama3_scaling = {"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 32} if name == "llama-mqa" else None
    if llama3_scaling:
        import math
        sc = llama3_scaling
        low_w = sc["original_max_position_embeddings"] / sc["low_freq_factor"]
        high_w = sc["original_max_position_embeddings"] / sc["high_freq_factor"]
        factors = []
        for i in range(hd // 2):
            freq = 1.0 / (rope_base ** (2 * i / hd))
            wavelen = 2 * math.pi / freq
            if wavelen < high_w:
                factors.append(1.0)
            elif wavelen > low_w:
                factors.append(sc["factor"])
            else:
                smooth = (sc["original_max_position_embeddings"] / wavelen - sc["low_freq_factor"]) / (
                    sc["high_freq_factor"] - sc["low_freq_factor"])
                factors.append(1.0 / ((1 - smooth) / sc["factor"] + smooth))
        w.add_tensor("rope_freqs.weight", np.array(factors, dtype=np.float32))
    if arch == "gpt2":
        return gpt2_body(w, rng, spec, vocab, qtype, path)
    if arch == "gemma3":
        return gemma3_body(w, rng, spec, vocab, qtype, path)
    matrix("token_embd.weight", "model.embed_tokens.weight", vocab, hidden, 1.0)
    for l in range(layers):
        p, b = f"model.layers.{l}.", f"blk.{l}."
        vector(b + "attn_norm.weight", p + "input_layernorm.weight", hidden, 1.0, 0.1)
        matrix(b + "attn_q.weight", p + "self_attn.q_proj.weight", q_dim, hidden, 0.15, heads)
        matrix(b + "attn_k.weight", p + "self_attn.k_proj.weight", kv_dim, hidden, 0.15, kv)
        matrix(b + "attn_v.weight", p + "self_attn.v_proj.weight", kv_dim, hidden, 0.2)
        if arch == "qwen2":
            vector(b + "attn_q.bias", p + "self_attn.q_proj.bias", q_dim, 0.0, 0.3)
            vector(b + "attn_k.bias", p + "self_attn.k_proj.bias", kv_dim, 0.0, 0.3)
            vector(b + "attn_v.bias", p + "self_attn.v_proj.bias", kv_dim, 0.0, 0.3)
        if arch == "qwen3":
            vector(b + "attn_q_norm.weight", p + "self_attn.q_norm.weight", hd, 1.0, 0.2)
            vector(b + "attn_k_norm.weight", p + "self_attn.k_norm.weight", hd, 1.0, 0.2)
        matrix(b + "attn_output.weight", p + "self_attn.o_proj.weight", hidden, q_dim, 0.1)
        vector(b + "ffn_norm.weight", p + "post_attention_layernorm.weight", hidden, 1.0, 0.1)
        matrix(b + "ffn_gate.weight", p + "mlp.gate_proj.weight", ffn, hidden, 0.1)
        matrix(b + "ffn_up.weight", p + "mlp.up_proj.weight", ffn, hidden, 0.1)
        matrix(b + "ffn_down.weight", p + "mlp.down_proj.weight", hidden, ffn, 0.1)
    vector("output_norm.weight", "model.norm.weight", hidden, 1.0, 0.1)
    if not tied:
        matrix("output.weight", "lm_head.weight", vocab, hidden, 0.3)
    else:
        hf["lm_head.weight"] = hf["model.embed_tokens.weight"]
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    import transformers as tf
    common = dict(vocab_size=vocab, hidden_size=hidden, intermediate_size=ffn, num_hidden_layers=layers,
                  num_attention_heads=heads, num_key_value_heads=kv, head_dim=hd, rms_norm_eps=eps,
                  max_position_embeddings=64, tie_word_embeddings=tied,
                  rope_parameters=llama3_scaling or {"rope_type": "default", "rope_theta": rope_base})
    cls = {"llama": (tf.LlamaConfig, tf.LlamaForCausalLM), "qwen2": (tf.Qwen2Config, tf.Qwen2ForCausalLM),
           "qwen3": (tf.Qwen3Config, tf.Qwen3ForCausalLM)}[arch]
    config = cls[0](**common, attn_implementation="eager")
    model = cls[1](config).eval()
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in hf.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if "rotary" not in m]
    assert not missing and not unexpected, (missing, unexpected)
    return path, model


BERT_WORDS = ["the", "cat", "sat", "on", "mat", "dog", "ate", "bone", "your", "journey", "starts", "with", "one",
              "step", "and", "animal", "was", "tired", "it", "too", "##s", "##ed", "##ing", "a", "b", "c", "d", "e",
              "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y",
              "z", ".", ",", "!", "?", "'", "-", "0", "1", "2", "3"]


# Hard strings for the tokenizer test: blanks, digits, emoji, CJK, accents, code, HTML, contractions.
HARD = ["", " ", "   leading spaces", "runs  of   spaces\tand\ttabs ", "line\nbreaks\r\n\n  indented\n",
        "digits 1234567 and 3.14159, 2024-11-29", "emoji 👋🏽 and 🤗!", "CJK 日本語の文章、中文。", "accents: café naïve Ørsted",
        "code: fn main() { let x = a->b; }  // ok", "<b>HTML</b> &amp; <br/>", "contractions: I'm, you're, WE'LL, it's",
        "trailing space ", "The cat<|endoftext|>sat", "ſ ÅÄÖ ﬁ Ⅻ ①②"]

PRE_PATTERNS = {
    "llama-bpe": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    "qwen2": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
}


def tokenizer_ids():
    """HF's ids of HARD under each GGUF pre-tokenizer. The vocabulary (600 tokens, stored with the ids) is
    trained with GPT-2's pre-tokenizer on text full of numbers, blanks, newlines and contractions, so its
    merges cross the boundaries the pre-tokenizers draw differently (" 12", "123", "'s", blank runs)."""
    from tokenizers import Regex
    base = Tokenizer(models.BPE())
    base.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    corpus = CORPUS + HARD * 3 + [f"{i} {i * 37} {i * 1234}\n\n  x = {i};  // it's {i}'s" for i in range(300)]
    trainer = trainers.BpeTrainer(vocab_size=600, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|endoftext|>"], show_progress=False)
    base.train_from_iterator(corpus, trainer)
    tokens, merges, types = tokenizer_metadata(base)
    out = {"tokens": tokens, "merges": merges, "token_types": types, "cases": {}}
    for pre in ["smollm", "default", "llama-bpe", "qwen2"]:
        t = Tokenizer.from_str(base.to_str())
        if pre == "smollm":
            t.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                       pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
        elif pre == "default":
            t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        else:
            t.pre_tokenizer = pre_tokenizers.Sequence([
                pre_tokenizers.Split(Regex(PRE_PATTERNS[pre]), behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        out["cases"][pre] = [{"text": h, "ids": t.encode(h).ids} for h in HARD]
    return out


# Decoders also saved as Hugging Face folders (float16 safetensors of the F16 file's exact values), with
# the tokenizer.json style each family ships: Llama 3's split pattern, BOS and ignore_merges for llama;
# SmolLM2's digits + byte level for qwen3.
HF_FOLDERS = {"llama-gqa.F16.gguf": ("llama-gqa-hf", "llama3"), "qwen3-gqa4.F16.gguf": ("qwen3-gqa4-hf", "smollm"),
              "gpt2-tiny.Q8_0.gguf": ("gpt2-tiny-hf", "gpt2"), "gemma3-tiny.Q8_0.gguf": ("gemma3-tiny-hf", "gemma")}


def hf_tokenizer(tok, style):
    from tokenizers import Regex, processors, normalizers
    if style == "gemma":
        # Gemma's SentencePiece layout: spaces as '▁' without one put first, byte fallback, BOS.
        t = Tokenizer.from_file(os.path.join(OUT, "spm-tokenizer.json"))
        t.normalizer = normalizers.Replace(" ", "\u2581")
        return t
    t = Tokenizer.from_str(tok.to_str())
    if style == "llama3":
        t.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(PRE_PATTERNS["llama-bpe"]), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        t.post_processor = processors.TemplateProcessing(
            single="<|endoftext|> $A", special_tokens=[("<|endoftext|>", t.token_to_id("<|endoftext|>"))])
        data = json.loads(t.to_str())
        data["model"]["ignore_merges"] = True
        t = Tokenizer.from_str(json.dumps(data))
    if style == "gpt2":
        t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    return t


def save_hf_folder(model, tok, gguf_name, out):
    folder_name, style = HF_FOLDERS[gguf_name]
    folder = os.path.join(OUT, folder_name)
    os.makedirs(folder, exist_ok=True)
    # A float16 copy is saved; the reference model keeps float32 with its parameters rounded to float16
    # (not its RoPE buffer: rounding inv_freq would change the positions, not the weights).
    import copy
    copy.deepcopy(model).to(torch.float16).save_pretrained(folder, safe_serialization=True)
    with torch.no_grad():
        for prm in model.parameters():
            prm.copy_(prm.half().float())
    for extra in ("generation_config.json",):
        if os.path.exists(os.path.join(folder, extra)):
            os.remove(os.path.join(folder, extra))
    t = hf_tokenizer(tok, style)
    t.save(os.path.join(folder, "tokenizer.json"))
    runs = []
    for text in SEQUENCES:
        ids = t.encode(text).ids
        with torch.no_grad():
            r = model(torch.tensor([ids]), output_attentions=True)
        runs.append({"text": text, "ids": ids, "attentions": [a[0].tolist() for a in r.attentions],
                     "argmax_next": r.logits[0].argmax(-1).tolist()})
    out[folder_name] = {"from": gguf_name, "runs": runs}


def sentencepiece_tokenizer():
    """A Llama 2-style tokenizer (SentencePiece BPE: '▁' for spaces, one put first, byte fallback), as
    tokenizer.json (tiny/spm-tokenizer.json) and as GGUF `llama` metadata (tokens, scores = minus the merge
    rank, types), with HF's ids of HARD. Emoji, CJK and accents are left out of training, so they fall
    back to bytes."""
    from tokenizers import normalizers, decoders as dec, processors
    norm = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    base = Tokenizer(models.BPE(unk_token="<unk>"))
    base.normalizer = norm
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>"], show_progress=False)
    base.train_from_iterator(CORPUS + [h for i, h in enumerate(HARD) if i not in (6, 7, 8)], trainer)
    data = json.loads(base.to_str())
    learned = sorted(((i, t) for t, i in data["model"]["vocab"].items() if t != "<unk>"))
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + [t for _, t in learned]
    vocab = {t: i for i, t in enumerate(tokens)}
    merges = [m if isinstance(m, str) else " ".join(m) for m in data["model"]["merges"]]
    rank = {m.replace(" ", ""): r for r, m in reversed(list(enumerate(merges)))}
    scores = [float(-rank[t]) if t in rank else 0.0 for t in tokens]
    types = [2, 3, 3] + [6] * 256 + [1] * len(learned)
    bpe = models.BPE(vocab=vocab, merges=[tuple(m.split(" ")) for m in merges], unk_token="<unk>",
                     byte_fallback=True, fuse_unk=True)
    t = Tokenizer(bpe)
    t.normalizer = norm
    t.decoder = dec.Sequence([dec.Replace("\u2581", " "), dec.ByteFallback(), dec.Fuse(), dec.Strip(" ", 1, 0)])
    from tokenizers import AddedToken
    t.add_special_tokens([AddedToken(x, special=True, normalized=False) for x in ["<unk>", "<s>", "</s>"]])
    t.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    t.save(os.path.join(OUT, "spm-tokenizer.json"))
    cases = [{"text": h, "ids": t.encode(h, add_special_tokens=False).ids} for h in HARD if "<|" not in h]
    # The same model with a Metaspace pre-tokenizer instead of the Prepend + Replace normalizer (newer
    # Llama / Mistral tokenizer.json files); the Rust test makes the same edit to spm-tokenizer.json.
    t.normalizer = None
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=False)
    metaspace = [{"text": h, "ids": t.encode(h, add_special_tokens=False).ids} for h in HARD if "<|" not in h]
    return {"tokens": tokens, "scores": scores, "token_types": types, "cases": cases, "metaspace": metaspace}


def encoder_runs(model, tok, texts):
    runs = []
    for text in texts:
        enc = tok.encode(text)
        with torch.no_grad():
            r = model(torch.tensor([enc.ids]), output_attentions=True)
        runs.append({"text": text, "ids": enc.ids, "attentions": [a[0].tolist() for a in r.attentions]})
    return runs


def randomize(model, seed):
    torch.manual_seed(seed)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "LayerNorm" in n or "layer_norm" in n:
                p.copy_((1.0 if n.endswith("weight") else 0.0) + 0.1 * torch.randn_like(p))
            elif n.endswith("bias"):
                p.copy_(0.05 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))


def save_encoder(model, tok, name):
    """float16 safetensors (the reference model keeps float32 with its parameters rounded alike)."""
    import copy
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    copy.deepcopy(model).to(torch.float16).save_pretrained(folder, safe_serialization=True)
    with torch.no_grad():
        for prm in model.parameters():
            prm.copy_(prm.half().float())
    tok.save(os.path.join(folder, "tokenizer.json"))
    return folder


def build_roberta(tok):
    """A tiny RoBERTa: byte-level BPE with <s> </s> around the text, positions from padding_idx + 1."""
    import transformers as tf
    from tokenizers import AddedToken, processors
    data = json.loads(tok.to_str())
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    vocab = {t: i for i, t in enumerate(specials)}
    for t, i in sorted(data["model"]["vocab"].items(), key=lambda x: x[1]):
        vocab.setdefault(t, len(vocab))
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in data["model"]["merges"]]
    t = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    t.decoder = decoders.ByteLevel()
    t.add_special_tokens([AddedToken(x, special=True) for x in specials])
    t.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    config = tf.RobertaConfig(vocab_size=len(vocab), hidden_size=60, num_hidden_layers=2, num_attention_heads=5,
                              intermediate_size=96, max_position_embeddings=40, pad_token_id=1,
                              bos_token_id=0, eos_token_id=2, attn_implementation="eager")
    model = tf.RobertaModel(config, add_pooling_layer=False).eval()
    randomize(model, 11)
    save_encoder(model, t, "roberta-tiny")
    return {"arch": "roberta", "runs": encoder_runs(model, t, SEQUENCES)}


def build_distilbert():
    """A tiny DistilBERT on bert-tiny's WordPiece vocabulary (no token types, other tensor names)."""
    import transformers as tf
    folder = os.path.join(OUT, "bert-tiny")
    tok = tf.BertTokenizerFast(os.path.join(folder, "vocab.txt"), do_lower_case=True).backend_tokenizer
    vocab_size = tok.get_vocab_size()
    config = tf.DistilBertConfig(vocab_size=vocab_size, dim=60, n_layers=2, n_heads=5, hidden_dim=96,
                                 max_position_embeddings=40, attn_implementation="eager")
    model = tf.DistilBertModel(config).eval()
    randomize(model, 13)
    save_encoder(model, tok, "distilbert-tiny")
    return {"arch": "distilbert", "runs": encoder_runs(model, tok, SEQUENCES)}


def build_bert():
    """A tiny uncased BERT as a Hugging Face folder (config.json, model.safetensors, vocab.txt, tokenizer.json)."""
    import transformers as tf
    folder = os.path.join(OUT, "bert-tiny")
    os.makedirs(folder, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + BERT_WORDS
    with open(os.path.join(folder, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab) + "\n")
    # 5 heads of 12 on a 60-wide stream, 3 layers.
    config = tf.BertConfig(vocab_size=len(vocab), hidden_size=60, num_hidden_layers=3, num_attention_heads=5,
                           intermediate_size=96, max_position_embeddings=40, attn_implementation="eager")
    torch.manual_seed(7)
    model = tf.BertModel(config, add_pooling_layer=False).eval()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("LayerNorm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            elif n.endswith("bias"):
                p.copy_(0.05 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
    model.save_pretrained(folder, safe_serialization=True)
    tok = tf.BertTokenizerFast(os.path.join(folder, "vocab.txt"), do_lower_case=True)
    tok.backend_tokenizer.save(os.path.join(folder, "tokenizer.json"))
    for extra in ("generation_config.json",):
        if os.path.exists(os.path.join(folder, extra)):
            os.remove(os.path.join(folder, extra))
    runs = []
    for text in SEQUENCES:
        enc = tok(text)
        with torch.no_grad():
            r = model(torch.tensor([enc["input_ids"]]), output_attentions=True)
        runs.append({"text": text, "ids": enc["input_ids"], "tokens": tok.convert_ids_to_tokens(enc["input_ids"]),
                     "attentions": [a[0].tolist() for a in r.attentions]})
    gguf_runs = write_bert_gguf(model, vocab, tok)
    # A cased BERT's tokenizer.json on the same vocabulary: no lower-casing, accents kept.
    cased = tf.BertTokenizerFast(os.path.join(folder, "vocab.txt"), do_lower_case=False, strip_accents=False)
    cased.backend_tokenizer.save(os.path.join(OUT, "bert-cased-tokenizer.json"))
    cased_cases = [{"text": h, "ids": cased(h)["input_ids"]} for h in HARD]
    uncased_cases = [{"text": h, "ids": tok(h)["input_ids"]} for h in HARD]
    return {"arch": "bert", "hidden": 60, "heads": 5, "layers": 3, "vocab": len(vocab), "runs": runs,
            "gguf_runs": gguf_runs, "cased": cased_cases, "uncased": uncased_cases}


def write_bert_gguf(model, vocab, tok):
    """The same BERT as llama.cpp's converter writes it (arch `bert`, F16 matrices, WordPiece vocabulary
    with '▁' before word starts and no '##')."""
    path = os.path.join(OUT, "bert-tiny.F16.gguf")
    c = model.config
    w = gguf.GGUFWriter(path, "bert")
    w.add_name("tiny-bert")
    w.add_context_length(c.max_position_embeddings)
    w.add_embedding_length(c.hidden_size)
    w.add_feed_forward_length(c.intermediate_size)
    w.add_block_count(c.num_hidden_layers)
    w.add_head_count(c.num_attention_heads)
    w.add_layer_norm_eps(c.layer_norm_eps)
    w.add_causal_attention(False)
    w.add_tokenizer_model("bert")
    phantom = [t if (t.startswith("[") and t.endswith("]")) else (t[2:] if t.startswith("##") else "\u2581" + t)
               for t in vocab]
    w.add_token_list(phantom)
    w.add_token_types([3 if t.startswith("[") else 1 for t in vocab])
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    names = {"embeddings.word_embeddings.weight": "token_embd.weight",
             "embeddings.position_embeddings.weight": "position_embd.weight",
             "embeddings.token_type_embeddings.weight": "token_types.weight",
             "embeddings.LayerNorm.weight": "token_embd_norm.weight", "embeddings.LayerNorm.bias": "token_embd_norm.bias"}
    layer = {"attention.self.query": "attn_q", "attention.self.key": "attn_k", "attention.self.value": "attn_v",
             "attention.output.dense": "attn_output", "attention.output.LayerNorm": "attn_output_norm",
             "intermediate.dense": "ffn_up", "output.dense": "ffn_down", "output.LayerNorm": "layer_output_norm"}
    for hf_name, v in sd.items():
        if hf_name.startswith("encoder.layer."):
            l, rest = hf_name[len("encoder.layer."):].split(".", 1)
            module, kind = rest.rsplit(".", 1)
            name = f"blk.{l}.{layer[module]}.{kind}"
        elif hf_name in names:
            name = names[hf_name]
        else:
            continue
        # Matrices in F16 (norms and biases stay F32, as llama.cpp keeps 1-D tensors).
        w.add_tensor(name, v.astype(np.float16) if v.ndim == 2 else v.astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    # HF on the values the file holds: matrices rounded to float16.
    import copy
    rounded = copy.deepcopy(model)
    with torch.no_grad():
        for prm in rounded.parameters():
            if prm.ndim == 2:
                prm.copy_(prm.half().float())
    runs = []
    for text in SEQUENCES:
        ids = tok(text)["input_ids"]
        with torch.no_grad():
            r = rounded(torch.tensor([ids]), output_attentions=True)
        runs.append({"text": text, "ids": ids, "attentions": [a[0].tolist() for a in r.attentions]})
    return runs


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".gguf"):
            os.remove(os.path.join(OUT, f))
    torch.manual_seed(0)
    tok = train_tokenizer()
    meta = tokenizer_metadata(tok)
    ids = [tok.encode(s).ids for s in SEQUENCES]
    out = {
        "about": "tiny random GGUF models and HF transformers' attention on them; make_tiny_models.py",
        "versions": {"torch": torch.__version__, "transformers": __import__("transformers").__version__,
                     "gguf": "0.19.0", "numpy": np.__version__},
        "sequences": [{"text": s, "ids": i} for s, i in zip(SEQUENCES, ids)],
        "files": {},
    }
    spm = sentencepiece_tokenizer()
    out["sentencepiece"] = spm
    seed = 1
    for spec in MODELS:
        for qtype in spec[-1]:
            seed += 1
            # The multi-query llama carries a SentencePiece tokenizer (as Llama 2 / TinyLlama files do).
            path, model = build(spec, meta, qtype, seed, spm if spec[0] in ("llama-mqa", "gemma3-tiny") else None)
            runs = []
            for seq in ids:
                with torch.no_grad():
                    r = model(torch.tensor([seq]), output_attentions=True)
                logits = r.logits[0]
                runs.append({
                    "attentions": [a[0].tolist() for a in r.attentions],
                    "argmax_next": logits.argmax(-1).tolist(),
                    "top5_last": torch.topk(logits[-1], 5).indices.tolist(),
                })
            name, arch, hidden, heads, kv, hd, ffn, layers, tied, _ = spec
            out["files"][os.path.basename(path)] = {
                "arch": arch, "type": qtype, "hidden": hidden, "heads": heads, "kv_heads": kv, "head_dim": hd,
                "ffn": ffn, "layers": layers, "tied": tied, "vocab": len(meta[0]), "runs": runs,
            }
            if spec[0] == "gpt2-tiny":
                # The same bytes (same seed) as three split files.
                build(spec, meta, qtype, seed, None, split_name="gpt2-split")
            if os.path.basename(path) in HF_FOLDERS:
                save_hf_folder(model, tok, os.path.basename(path), out.setdefault("hf_folders", {}))
            print(f"{os.path.basename(path)}: {os.path.getsize(path)} bytes", file=sys.stderr)
    out["bert_folder"] = build_bert()
    out["encoder_folders"] = {"roberta-tiny": build_roberta(tok), "distilbert-tiny": build_distilbert()}
    out["pre_tokenizers"] = tokenizer_ids()
    def rounded(v):
        # 5 significant digits: at most 5e-6 off for weights up to 1, far below every tolerance.
        if isinstance(v, float):
            return float(f"{v:.5g}")
        if isinstance(v, list):
            return [rounded(x) for x in v]
        if isinstance(v, dict):
            return {k: rounded(x) for k, x in v.items()}
        return v
    with open(os.path.join(OUT, "tiny_reference.json"), "w") as f:
        json.dump(rounded(out), f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
