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
        five_bit_block(&blk[6..22], qh, o, |q| d * (q as i32 - 16) as f32);
    }
}

/// Q5_1: `d`, `m` (f16), 32 high bits, 16 bytes of low nibbles; value = d * q + m.
pub fn q5_1(src: &[u8], out: &mut [f32]) {
    for (o, blk) in out.chunks_exact_mut(32).zip(src.chunks_exact(24)) {
        let (d, m) = (f16_at(blk, 0), f16_at(blk, 2));
        let qh = u32::from_le_bytes([blk[4], blk[5], blk[6], blk[7]]);
        five_bit_block(&blk[8..24], qh, o, |q| d * q as f32 + m);
    }
}

/// The 32 values of a 5-bit block through `value`: byte j holds elements j (low nibble) and j + 16
/// (high nibble); bit j of `qh` is element j's fifth bit. Two straight loops (no branch per element).
#[inline(always)]
fn five_bit_block(qs: &[u8], qh: u32, out: &mut [f32], value: impl Fn(u8) -> f32) {
    let (lo, hi) = out.split_at_mut(16);
    for (j, (o, &b)) in lo.iter_mut().zip(qs).enumerate() {
        *o = value((b & 0x0f) | ((((qh >> j) & 1) as u8) << 4));
    }
    for (j, (o, &b)) in hi.iter_mut().zip(qs).enumerate() {
        *o = value((b >> 4) | ((((qh >> (j + 16)) & 1) as u8) << 4));
    }
}

/// Q2_K: 16 bytes of 4-bit scale/min pairs, 64 bytes of 2-bit values, `d`, `dmin` (f16). Sixteen
/// sub-blocks of 16: value = (d * scale) * q - (dmin * min).
pub fn q2_k(src: &[u8], out: &mut [f32]) {
    for (o, blk) in out.chunks_exact_mut(QK_K).zip(src.chunks_exact(84)) {
        let (scales, qs) = (&blk[0..16], &blk[16..80]);
        let (d, dmin) = (f16_at(blk, 80), f16_at(blk, 82));
        for (sub, o) in o.chunks_exact_mut(16).enumerate() {
            // Sub-block `sub`: 32-byte half sub / 8, bit pair (sub / 2) % 4, bytes from 16 * (sub % 2).
            let (g, s) = (sub / 2, scales[sub]);
            let (dl, ml) = (d * (s & 0x0f) as f32, dmin * (s >> 4) as f32);
            let (bytes, shift) = (&qs[(g / 4) * 32 + (sub % 2) * 16..][..16], 2 * (g % 4));
            for (o, &b) in o.iter_mut().zip(bytes) {
                *o = dl * ((b >> shift) & 3) as f32 - ml;
            }
        }
    }
}

/// Q3_K: 32 bytes of high bits (a set bit means no -4 offset), 64 bytes of 2-bit values, 12 bytes of
/// 6-bit scales (offset by 32), `d` (f16). Sixteen sub-blocks of 16: value = (d * scale) * q.
pub fn q3_k(src: &[u8], out: &mut [f32]) {
    for (o, blk) in out.chunks_exact_mut(QK_K).zip(src.chunks_exact(110)) {
        let (hmask, qs, sc) = (&blk[0..32], &blk[32..96], &blk[96..108]);
        let d = f16_at(blk, 108);
        for (sub, o) in o.chunks_exact_mut(16).enumerate() {
            // Scale: low 4 bits nibble sub / 8 of byte sub % 8, high 2 bits pair sub / 4 of byte 8 + sub % 4.
            let low = (sc[sub % 8] >> (4 * (sub / 8))) & 0x0f;
            let high = (sc[8 + sub % 4] >> (2 * (sub / 4))) & 0x03;
            let dl = d * ((low | (high << 4)) as i8 - 32) as f32;
            let (g, first) = (sub / 2, (sub % 2) * 16);
            let bytes = &qs[(g / 4) * 32 + first..][..16];
            for (t, (o, &b)) in o.iter_mut().zip(bytes).enumerate() {
                let q = ((b >> (2 * (g % 4))) & 3) as i8;
                let high = ((hmask[first + t] >> g) & 1) ^ 1;
                *o = dl * (q - ((high << 2) as i8)) as f32;
            }
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
        for (j, o) in o.chunks_exact_mut(32).enumerate() {
            // Sub-block j: 32-byte chunk j / 2, nibble j % 2.
            let (s, m) = k_scale_min(sc, j);
            let (dl, ml) = (d * s as f32, dmin * m as f32);
            let shift = 4 * (j % 2);
            for (o, &b) in o.iter_mut().zip(&qs[(j / 2) * 32..][..32]) {
                *o = dl * ((b >> shift) & 0x0f) as f32 - ml;
            }
        }
    }
}

/// Q5_K: as Q4_K with 32 bytes of fifth bits (bit f / 32 of byte f % 32) before the nibbles.
pub fn q5_k(src: &[u8], out: &mut [f32]) {
    for (o, blk) in out.chunks_exact_mut(QK_K).zip(src.chunks_exact(176)) {
        let (d, dmin) = (f16_at(blk, 0), f16_at(blk, 2));
        let (sc, qh, qs) = (&blk[4..16], &blk[16..48], &blk[48..176]);
        for (j, o) in o.chunks_exact_mut(32).enumerate() {
            let (s, m) = k_scale_min(sc, j);
            let (dl, ml) = (d * s as f32, dmin * m as f32);
            let shift = 4 * (j % 2);
            for ((o, &b), &h) in o.iter_mut().zip(&qs[(j / 2) * 32..][..32]).zip(qh) {
                let q = ((b >> shift) & 0x0f) | (((h >> j) & 1) << 4);
                *o = dl * q as f32 - ml;
            }
        }
    }
}

/// Q6_K: 128 bytes of low nibbles, 64 bytes of high bit pairs, 16 signed 8-bit scales, `d` (f16).
/// Sixteen sub-blocks of 16: value = (d * scale) * (q - 32).
pub fn q6_k(src: &[u8], out: &mut [f32]) {
    for (o, blk) in out.chunks_exact_mut(QK_K).zip(src.chunks_exact(210)) {
        let (ql, qh, scales) = (&blk[0..128], &blk[128..192], &blk[192..208]);
        let d = f16_at(blk, 208);
        for (sub, o) in o.chunks_exact_mut(16).enumerate() {
            // Value f = 16 sub + t: 128-value half f / 128; within it, r = f % 128: low nibble
            // (r / 64) of byte r % 64, high pair r / 32 of byte r % 32.
            let (half, r0) = (sub / 8, (sub % 8) * 16);
            let dl = d * scales[sub] as i8 as f32;
            let low = &ql[half * 64 + r0 % 64..][..16];
            let high = &qh[half * 32 + r0 % 32..][..16];
            let (ls, hs) = (4 * (r0 / 64), 2 * (r0 / 32));
            for ((o, &l), &h) in o.iter_mut().zip(low).zip(high) {
                let q = (((l >> ls) & 0x0f) | (((h >> hs) & 0x03) << 4)) as i8 - 32;
                *o = dl * q as f32;
            }
        }
    }
}
