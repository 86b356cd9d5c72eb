//! 16-bit floats: IEEE half (f16) and bfloat16, as GGUF, safetensors and the MiniLM bundle store them.

/// IEEE half -> single, exact for every f16 value (subnormals, inf and NaN included). Branch-free, so a
/// row of them vectorises: the half's exponent and mantissa are moved into an f32 whose exponent is still
/// biased by 15, and multiplied by 2^112 to rebias it, which is exact (a power of two; a subnormal half
/// lands on a normal f32). Infinity and NaN (exponent all ones) are picked by a select, not a branch.
#[inline]
pub fn f16_to_f32(h: u16) -> f32 {
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    let magnitude = h & 0x7fff;
    let finite = (f32::from_bits(magnitude << 13) * f32::from_bits(0x7780_0000)).to_bits();
    let special = 0x7f80_0000 | ((magnitude & 0x3ff) << 13);
    f32::from_bits(sign | if magnitude >= 0x7c00 { special } else { finite })
}

/// bfloat16 is the top half of an f32.
#[inline]
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// IEEE 754 binary32 -> binary16, round to nearest even; overflow becomes infinity.
pub fn f32_to_f16(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let man = bits & 0x007f_ffff;
    if exp == 0xff {
        return sign | 0x7c00 | if man != 0 { 0x0200 } else { 0 };
    }
    let e = exp - 127 + 15; // re-biased exponent
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    let round = |value: u32, shift: u32| -> u32 {
        let half = 1u32 << (shift - 1);
        let rem = value & ((1u32 << shift) - 1);
        let q = value >> shift;
        if rem > half || (rem == half && q & 1 == 1) {
            q + 1
        } else {
            q
        }
    };
    if e <= 0 {
        // Subnormal half (or zero): value = m * 2^-24 with m = full 24-bit mantissa >> (14 - e).
        if e < -10 {
            return sign;
        }
        let m = man | 0x0080_0000;
        return sign | round(m, (14 - e) as u32) as u16;
    }
    // A carry out of the mantissa correctly bumps the exponent (up to infinity).
    sign | round(((e as u32) << 23) | man, 13) as u16
}

/// bf16 not below `x` (for non-negative finite `x`). Steps are rounded up so that values never
/// need more than 15 bits; bf16 keeps f32's exponent range, and since values are rounded against
/// the stored step its short mantissa costs no accuracy.
pub fn f32_to_bf16_round_up(x: f32) -> u16 {
    let bits = x.to_bits();
    let rounded = if bits & 0xffff != 0 { (bits | 0xffff).wrapping_add(1) } else { bits };
    (rounded >> 16) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_round_trips_every_finite_half() {
        for h in 0..=u16::MAX {
            let f = f16_to_f32(h);
            if f.is_nan() {
                assert!(f32_to_f16(f) & 0x7c00 == 0x7c00 && f32_to_f16(f) & 0x03ff != 0);
                continue;
            }
            assert_eq!(f32_to_f16(f), h, "half {h:#06x} -> {f}");
        }
    }

    #[test]
    fn f16_rounds_to_nearest_even() {
        assert_eq!(f16_to_f32(f32_to_f16(1.0 + 1.0 / 4096.0)), 1.0); // exactly half an ulp: to even
        assert_eq!(f16_to_f32(f32_to_f16(1.0 + 3.0 / 2048.0)), 1.0 + 2.0 / 1024.0); // 1.5 ulp: to even
        assert_eq!(f16_to_f32(f32_to_f16(1.0 + 3.0 / 4096.0)), 1.0 + 1.0 / 1024.0);
        assert_eq!(f16_to_f32(f32_to_f16(0.1)), 0.099_975_586);
        assert_eq!(f32_to_f16(65520.0), 0x7c00); // rounds up past the largest half
        assert_eq!(f32_to_f16(1e-8), 0);
        assert_eq!(f16_to_f32(f32_to_f16(-3.0e-6)), -2.980_232_2e-6); // subnormal
    }
}
