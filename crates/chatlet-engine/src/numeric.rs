//! Math the engine computes itself so that native and wasm builds give bit-identical results:
//! the platform `exp`/`ln` may differ in the last bit between libm implementations.

/// e^x for f32, accurate to about 2 ulp; saturates instead of overflowing.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    // Selects instead of early returns, so that loops over exp (softmax) are vectorized.
    // x = k·ln2 + r with |r| ≤ ln2/2; e^x = 2^k · e^r.
    // Round half away from zero by truncation (a libm `round` call is slow in hot loops), in
    // floats: a float-to-int conversion has no vector form before AVX-512, and would keep the
    // softmax loop a lane at a time.
    let scaled = x * std::f32::consts::LOG2_E;
    // Clamped so that 2^k below is a normal f32 for any x; in range (|x| ≤ 88) k already is.
    let k = (scaled + if scaled < 0.0 { -0.5 } else { 0.5 })
        .trunc()
        .clamp(-126.0, 127.0);
    let r = x - k * 0.693_145_75 - k * 1.428_606_8e-6;
    // Taylor series to degree 7 is exact enough on |r| ≤ 0.35.
    let mut p = 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // 2^k from its exponent bits: k + 127 is a whole number in 1..=254, and adding 2^23 puts
    // it in the low mantissa bits (no float-to-int conversion, see above).
    let two_k = f32::from_bits(((k + 127.0 + 8_388_608.0).to_bits() & 0xFF) << 23);
    // NaN passes through (r and so p are NaN).
    if x > 88.0 {
        f32::MAX
    } else if x < -87.0 {
        0.0
    } else {
        p * two_k
    }
}

/// Natural logarithm for positive finite f32 (used for losses only); `ln(0)` gives a large negative.
pub(crate) fn ln(x: f32) -> f32 {
    if x.is_nan() || x < 0.0 {
        return f32::NAN;
    }
    if x < f32::MIN_POSITIVE {
        return -87.0;
    }
    let bits = x.to_bits();
    let exponent = ((bits >> 23) & 0xFF) as i32 - 127;
    // m in [1, 2): ln x = exponent·ln2 + ln m, and ln m = 2·atanh((m-1)/(m+1)).
    let m = f32::from_bits((bits & 0x007F_FFFF) | 0x3F80_0000);
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut series = 1.0 / 11.0;
    for d in [9.0, 7.0, 5.0, 3.0] {
        series = series * s2 + 1.0 / d;
    }
    series = series * s2 + 1.0;
    exponent as f32 * std::f32::consts::LN_2 + 2.0 * s * series
}

/// In-place softmax; an empty slice stays empty. Its exp loop runs eight lanes at a time with
/// AVX2 (see `simd.rs`); x86-64's baseline has no vector rounding for it.
pub(crate) fn softmax(scores: &mut [f32]) {
    crate::simd::with_avx2(|| softmax_lanes(scores));
}

#[inline(always)]
fn softmax_lanes(scores: &mut [f32]) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for s in scores.iter_mut() {
        *s = exp(*s - max);
    }
    // Summed apart, in order: the loop above then runs a vector at a time.
    let mut sum = 0.0;
    for s in scores.iter() {
        sum += *s;
    }
    if sum > 0.0 {
        for s in scores.iter_mut() {
            *s /= sum;
        }
    }
}

/// A small deterministic RNG (xorshift64*): the engine uses no global randomness.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dispatched_softmax_is_bit_for_bit_the_portable_one() {
        // Lengths around the vector widths; scores spread wide enough to hit exp's clamps.
        for len in [1, 7, 8, 9, 17, 150, 151] {
            for spread in [0.01f32, 3.0, 40.0, 200.0] {
                let scores: Vec<f32> = (0..len)
                    .map(|k| ((k * 7919 % 113) as f32 - 56.0) * spread / 56.0)
                    .collect();
                let (mut fast, mut portable) = (scores.clone(), scores.clone());
                softmax(&mut fast);
                softmax_lanes(&mut portable);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&fast),
                    bits(&portable),
                    "{len} scores, spread {spread}"
                );
                let sum: f32 = fast.iter().sum();
                assert!((sum - 1.0).abs() < 1e-4, "{len} scores sum to {sum}");
            }
        }
    }

    #[test]
    fn exp_and_ln_match_the_platform_closely() {
        let mut x = -80.0f32;
        while x < 80.0 {
            let (ours, platform) = (exp(x), x.exp());
            assert!(
                ((ours - platform) / platform).abs() < 1e-6,
                "exp({x}) = {ours}, expected {platform}"
            );
            x += 0.173;
        }
        for x in [1e-30f32, 1e-5, 0.3, 1.0, 2.5, 1e4, 3e38] {
            assert!(
                (ln(x) - x.ln()).abs() < 1e-5 * x.ln().abs().max(1.0),
                "ln({x})"
            );
        }
        assert_eq!(exp(-200.0), 0.0);
        assert!(exp(200.0).is_finite());
        assert_eq!(exp(f32::INFINITY), f32::MAX);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert!(exp(f32::NAN).is_nan());
    }

    #[test]
    fn softmax_is_a_distribution() {
        let mut scores = [1.0, 2.0, 3.0, -1000.0];
        softmax(&mut scores);
        assert!((scores.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(scores[2] > scores[1] && scores[1] > scores[0] && scores[3] == 0.0);
    }
}
