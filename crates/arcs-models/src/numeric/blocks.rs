//! ggml's 5-bit and k-quant block formats decoded to f32: Q5_0, Q5_1 (32 values a block) and Q2_K..Q6_K
//! (256 values a block, in sub-blocks with their own scales), as llama.cpp's usual `Q*_K_S`/`Q*_K_M`
//! files hold them.
//!
//! Each decoder does the same f32 operations in the same order as gguf-py's `dequantize` (llama.cpp's
//! reference), so its values are the reference's to the bit (tested against
//! `reference/gguf_quant_reference.json`). Layouts are ggml's `block_q*` structs, little-endian.
//! Callers pass whole blocks (`src` a multiple of the block size, `out` 32 or 256 values a block).

use crate::numeric::half::f16_to_f32;

const QK_K: usize = 256;

#[inline]
fn f16_at(b: &[u8], i: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([b[i], b[i + 1]]))
}

/// Q5_0: `d` (f16), 32 high bits, 16 bytes of low nibbles; value = d * (q - 16), q = 5 bits.
pub fn q5_0(src: &[u8], out: &mut [f32]) {
    for (o, blk) in out.chunks_exact_mut(32).zip(src.chunks_exact(22)) {
        let d = f16_at(blk, 0);
        let qh = u32::from_le_bytes([blk[2], blk[3], blk[4], blk[5]]);
        for (j, o) in o.iter_mut().enumerate() {
            let q = five_bits(&blk[6..22], qh, j) as i32 - 16;
            *o = d * q as f32;
        }
    }
}

/// Q5_1: `d`, `m` (f16), 32 high bits, 16 bytes of low nibbles; value = d * q + m.
pub fn q5_1(src: &[u8], out: &mut [f32]) {
    for (o, blk) in out.chunks_exact_mut(32).zip(src.chunks_exact(24)) {
        let (d, m) = (f16_at(blk, 0), f16_at(blk, 2));
        let qh = u32::from_le_bytes([blk[4], blk[5], blk[6], blk[7]]);
        for (j, o) in o.iter_mut().enumerate() {
            *o = d * five_bits(&blk[8..24], qh, j) as f32 + m;
        }
    }
}

/// Element j of a 5-bit block: byte j holds elements j (low nibble) and j + 16 (high nibble); bit j of
/// `qh` is element j's fifth bit.
#[inline]
fn five_bits(qs: &[u8], qh: u32, j: usize) -> u8 {
    let low = if j < 16 { qs[j] & 0x0f } else { qs[j - 16] >> 4 };
    low | ((((qh >> j) & 1) as u8) << 4)
}

/// Q2_K: 16 bytes of 4-bit scale/min pairs, 64 bytes of 2-bit values, `d`, `dmin` (f16). Sixteen
/// sub-blocks of 16: value = (d * scale) * q - (dmin * min).
pub fn q2_k(src: &[u8], out: &mut [f32]) {
    for (o, blk) in out.chunks_exact_mut(QK_K).zip(src.chunks_exact(84)) {
        let (scales, qs) = (&blk[0..16], &blk[16..80]);
        let (d, dmin) = (f16_at(blk, 80), f16_at(blk, 82));
        for (f, o) in o.iter_mut().enumerate() {
            // Value f: 32-byte half f / 128, bit pair (f % 128) / 32, byte f % 32.
            let (half, pair, byte) = (f / 128, (f % 128) / 32, f % 32);
            let q = (qs[half * 32 + byte] >> (2 * pair)) & 3;
            let s = scales[f / 16];
            let (dl, ml) = (d * (s & 0x0f) as f32, dmin * (s >> 4) as f32);
            *o = dl * q as f32 - ml;
        }
    }
}

/// Q3_K: 32 bytes of high bits (a set bit means no -4 offset), 64 bytes of 2-bit values, 12 bytes of
/// 6-bit scales (offset by 32), `d` (f16). Sixteen sub-blocks of 16: value = (d * scale) * q.
pub fn q3_k(src: &[u8], out: &mut [f32]) {
    for (o, blk) in out.chunks_exact_mut(QK_K).zip(src.chunks_exact(110)) {
        let (hmask, qs, sc) = (&blk[0..32], &blk[32..96], &blk[96..108]);
        let d = f16_at(blk, 108);
        let scale = |i: usize| {
            // Low 4 bits: nibble i / 8 of byte i % 8; high 2 bits: pair i / 4 of byte 8 + i % 4.
            let low = (sc[i % 8] >> (4 * (i / 8))) & 0x0f;
            let high = (sc[8 + i % 4] >> (2 * (i / 4))) & 0x03;
            ((low | (high << 4)) as i8 - 32) as f32
        };
        for (f, o) in o.iter_mut().enumerate() {
            let (half, pair, byte) = (f / 128, (f % 128) / 32, f % 32);
            let low = ((qs[half * 32 + byte] >> (2 * pair)) & 3) as i8;
            let high = ((hmask[f % 32] >> (f / 32)) & 1) ^ 1;
            let q = low - ((high << 2) as i8);
            *o = (d * scale(f / 16)) * q as f32;
        }
    }
}

/// The 6-bit scales and mins of Q4_K and Q5_K, 8 of each, packed in 12 bytes.
#[inline]
fn k_scale_min(s: &[u8], j: usize) -> (u8, u8) {
    if j < 4 {
        (s[j] & 0x3f, s[j + 4] & 0x3f)
    } else {
        let (d, m, md) = (s[j - 4], s[j], s[j + 4]);
        ((md & 0x0f) | ((d >> 2) & 0x30), (md >> 4) | ((m >> 2) & 0x30))
    }
}

/// Q4_K: `d`, `dmin` (f16), 12 bytes of scales and mins, 128 bytes of nibbles. Eight sub-blocks of 32:
/// value = (d * scale) * q - (dmin * min).
pub fn q4_k(src: &[u8], out: &mut [f32]) {
    for (o, blk) in out.chunks_exact_mut(QK_K).zip(src.chunks_exact(144)) {
        let (d, dmin) = (f16_at(blk, 0), f16_at(blk, 2));
        let (sc, qs) = (&blk[4..16], &blk[16..144]);
        for (f, o) in o.iter_mut().enumerate() {
            // Value f: 32-byte chunk f / 64, nibble (f % 64) / 32, byte f % 32.
            let q = (qs[(f / 64) * 32 + f % 32] >> (4 * ((f % 64) / 32))) & 0x0f;
            let (s, m) = k_scale_min(sc, f / 32);
            *o = (d * s as f32) * q as f32 - dmin * m as f32;
        }
    }
}

/// Q5_K: as Q4_K with 32 bytes of fifth bits (bit f / 32 of byte f % 32) before the nibbles.
pub fn q5_k(src: &[u8], out: &mut [f32]) {
    for (o, blk) in out.chunks_exact_mut(QK_K).zip(src.chunks_exact(176)) {
        let (d, dmin) = (f16_at(blk, 0), f16_at(blk, 2));
        let (sc, qh, qs) = (&blk[4..16], &blk[16..48], &blk[48..176]);
        for (f, o) in o.iter_mut().enumerate() {
            let low = (qs[(f / 64) * 32 + f % 32] >> (4 * ((f % 64) / 32))) & 0x0f;
            let q = low | (((qh[f % 32] >> (f / 32)) & 1) << 4);
            let (s, m) = k_scale_min(sc, f / 32);
            *o = (d * s as f32) * q as f32 - dmin * m as f32;
        }
    }
}

/// Q6_K: 128 bytes of low nibbles, 64 bytes of high bit pairs, 16 signed 8-bit scales, `d` (f16).
/// Sixteen sub-blocks of 16: value = (d * scale) * (q - 32).
pub fn q6_k(src: &[u8], out: &mut [f32]) {
    for (o, blk) in out.chunks_exact_mut(QK_K).zip(src.chunks_exact(210)) {
        let (ql, qh, scales) = (&blk[0..128], &blk[128..192], &blk[192..208]);
        let d = f16_at(blk, 208);
        for (f, o) in o.iter_mut().enumerate() {
            // Low nibble: 64-byte half f / 128, nibble (f % 128) / 64, byte f % 64. High bits: 32-byte
            // half f / 128, pair (f % 128) / 32, byte f % 32.
            let (half, rest) = (f / 128, f % 128);
            let low = (ql[half * 64 + rest % 64] >> (4 * (rest / 64))) & 0x0f;
            let high = (qh[half * 32 + rest % 32] >> (2 * (rest / 32))) & 0x03;
            let q = (low | (high << 4)) as i8 - 32;
            *o = (d * scales[f / 16] as i8 as f32) * q as f32;
        }
    }
}
