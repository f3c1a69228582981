//! The element-wise functions 16 lanes at a time with AVX-512 intrinsics, for the bf16 kernels'
//! hot loops: the same polynomials as the scalar `exp`, `erf`, `gelu` and `gelu_tanh` (with
//! fused multiply-adds, so within a rounding of them), the softmax that writes bf16, and the
//! finishing of a product's tile row (epilogue, f32 store, bf16 store) in one pass.
//!
//! Every function here needs AVX-512 F, BW and BF16 (and FMA): callers hold a `Kernel` that
//! `multiplies_in_bf16`, which is only chosen where the CPU has them.

use super::Epilogue;
use std::arch::x86_64::*;

/// `e^x` per lane: Cephes' `expf` as the scalar `super::exp`, the power of two by `vscalefps`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")]
pub unsafe fn exp16(x: __m512) -> __m512 {
    let x = _mm512_min_ps(
        _mm512_max_ps(x, _mm512_set1_ps(-87.0)),
        _mm512_set1_ps(88.0),
    );
    let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
        _mm512_mul_ps(x, _mm512_set1_ps(std::f32::consts::LOG2_E)),
    );
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693_359_4), x);
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.121_944_4e-4), r);
    let mut p = _mm512_set1_ps(1.987_569_1e-4);
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        0.5,
    ] {
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
    }
    let y = _mm512_fmadd_ps(
        _mm512_mul_ps(p, r),
        r,
        _mm512_add_ps(r, _mm512_set1_ps(1.0)),
    );
    _mm512_scalef_ps(y, n)
}

/// `erf(x)` per lane: the rational function of the scalar `super::erf`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")]
pub unsafe fn erf16(x: __m512) -> __m512 {
    let x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-4.0)), _mm512_set1_ps(4.0));
    let x2 = _mm512_mul_ps(x, x);
    let mut p = _mm512_set1_ps(-2.726_142_3e-10);
    for c in [
        2.770_681_4e-8,
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906_3e-4,
        -2.954_600_2e-3,
        -1.609_603_3e-2,
    ] {
        p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(c));
    }
    let mut q = _mm512_set1_ps(-1.456_607_2e-5);
    for c in [
        -2.133_740_6e-4,
        -1.682_827e-3,
        -7.373_329_2e-3,
        -1.426_473_9e-2,
    ] {
        q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(c));
    }
    _mm512_div_ps(_mm512_mul_ps(x, p), q)
}

/// The exact GELU per lane.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")]
pub unsafe fn gelu16(x: __m512) -> __m512 {
    let e = erf16(_mm512_mul_ps(
        x,
        _mm512_set1_ps(std::f32::consts::FRAC_1_SQRT_2),
    ));
    let half_x = _mm512_mul_ps(x, _mm512_set1_ps(0.5));
    _mm512_fmadd_ps(half_x, e, half_x)
}

/// The tanh approximation of GELU per lane.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")]
pub unsafe fn gelu_tanh16(x: __m512) -> __m512 {
    let x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
    let u = _mm512_mul_ps(
        _mm512_set1_ps(0.797_884_6),
        _mm512_fmadd_ps(_mm512_set1_ps(0.044_715), x3, x),
    );
    let e = exp16(_mm512_add_ps(u, u));
    let t = _mm512_div_ps(_mm512_set1_ps(2.0), _mm512_add_ps(e, _mm512_set1_ps(1.0)));
    _mm512_mul_ps(
        _mm512_mul_ps(_mm512_set1_ps(0.5), x),
        _mm512_sub_ps(_mm512_set1_ps(2.0), t),
    )
}

/// The lanes of a 16-lane step that hold one of `len - i` remaining values.
#[inline(always)]
fn lanes(len: usize, i: usize) -> __mmask16 {
    let left = len - i;
    if left >= 16 {
        0xffff
    } else {
        (1u32 << left) as u16 - 1
    }
}

/// 16 floats rounded to bf16 (to nearest even, as `vcvtneps2bf16` rounds).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")]
unsafe fn to_bf16(v: __m512) -> __m256i {
    std::mem::transmute::<__m256bh, __m256i>(_mm512_cvtneps_pbh(v))
}

/// Softmax of `xs * scale` written rounded to bf16 into `out` (zeros after `xs.len()`); `xs` is
/// left holding the unnormalised exponentials.
///
/// # Safety
/// The CPU has AVX-512 F, BW, BF16 and FMA; `out` is at least as long as `xs`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")]
pub unsafe fn softmax_bf16(xs: &mut [f32], scale: f32, out: &mut [u16]) {
    let len = xs.len();
    assert!(out.len() >= len);
    let p = xs.as_mut_ptr();
    let mut max = _mm512_set1_ps(f32::NEG_INFINITY);
    for i in (0..len).step_by(16) {
        let v = _mm512_mask_loadu_ps(max, lanes(len, i), p.add(i));
        max = _mm512_max_ps(max, v);
    }
    let max = _mm512_set1_ps(_mm512_reduce_max_ps(max));
    let scale = _mm512_set1_ps(scale);
    let mut sum = _mm512_setzero_ps();
    for i in (0..len).step_by(16) {
        let m = lanes(len, i);
        let v = _mm512_maskz_loadu_ps(m, p.add(i));
        let e = _mm512_maskz_mov_ps(m, exp16(_mm512_mul_ps(_mm512_sub_ps(v, max), scale)));
        sum = _mm512_add_ps(sum, e);
        _mm512_mask_storeu_ps(p.add(i), m, e);
    }
    let inv = _mm512_set1_ps(1.0 / _mm512_reduce_add_ps(sum));
    let o = out.as_mut_ptr();
    for i in (0..len).step_by(16) {
        let m = lanes(len, i);
        let v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p.add(i)), inv);
        _mm256_mask_storeu_epi16(o.add(i) as *mut i16, m, to_bf16(v));
    }
    out[len..].fill(0);
}

/// Finishes `rows` rows of a product's block of sums (rows of 32 floats): row `r` goes through
/// `finish_row` to `c + r * ldc` and `c16 + r * ld16` (each unless null), its residual read
/// from `res + r * ldr`.
///
/// # Safety
/// As `finish_row`, for each of the rows.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")]
pub unsafe fn finish_block(
    sums: *const f32,
    rows: usize,
    cols: usize,
    epilogue: &Epilogue,
    (res, ldr): (*const f32, usize),
    (c, ldc): (*mut f32, usize),
    (c16, ld16): (*mut u16, usize),
) {
    for r in 0..rows {
        let res = if res.is_null() { res } else { res.add(r * ldr) };
        let c = if c.is_null() { c } else { c.add(r * ldc) };
        let c16 = if c16.is_null() {
            c16
        } else {
            c16.add(r * ld16)
        };
        finish_row(sums.add(r * 32), cols, epilogue, res, c, c16);
    }
}

/// Finishes one row of a product's tile: `cols` (at most 32) sums at `sums`, put through the
/// epilogue (`res`: the residual's row, for `Epilogue::Add`), stored as f32 at `c` and rounded
/// to bf16 at `c16`, each unless null.
///
/// # Safety
/// The CPU has AVX-512 F, BW, BF16 and FMA; `sums` holds 32 floats; `c`, `c16` (when not null)
/// and `res` (for `Add`) hold `cols` values.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")]
pub unsafe fn finish_row(
    sums: *const f32,
    cols: usize,
    epilogue: &Epilogue,
    res: *const f32,
    c: *mut f32,
    c16: *mut u16,
) {
    for h in (0..cols).step_by(16) {
        let m = lanes(cols, h);
        let v = _mm512_loadu_ps(sums.add(h));
        let v = match epilogue {
            Epilogue::None => v,
            Epilogue::Gelu => gelu16(v),
            Epilogue::GeluTanh => gelu_tanh16(v),
            Epilogue::Relu => _mm512_max_ps(v, _mm512_setzero_ps()),
            Epilogue::Add(..) => _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, res.add(h))),
        };
        if !c.is_null() {
            _mm512_mask_storeu_ps(c.add(h), m, v);
        }
        if !c16.is_null() {
            _mm256_mask_storeu_epi16(c16.add(h) as *mut i16, m, to_bf16(v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wide_functions_match_the_scalar_ones() {
        if !(is_x86_feature_detected!("avx512bf16")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vl"))
        {
            eprintln!("no AVX-512 BF16 here: the wide functions are not tested");
            return;
        }
        let xs: Vec<f32> = (-9000..=9000).map(|i| i as f32 / 100.0).collect();
        for chunk in xs.chunks_exact(16) {
            // SAFETY: the CPU has the features (checked above).
            unsafe {
                let v = _mm512_loadu_ps(chunk.as_ptr());
                let mut got = [[0f32; 16]; 4];
                _mm512_storeu_ps(got[0].as_mut_ptr(), exp16(v));
                _mm512_storeu_ps(got[1].as_mut_ptr(), erf16(v));
                _mm512_storeu_ps(got[2].as_mut_ptr(), gelu16(v));
                _mm512_storeu_ps(got[3].as_mut_ptr(), gelu_tanh16(v));
                for (i, &x) in chunk.iter().enumerate() {
                    let want = [
                        super::super::exp(x),
                        super::super::erf(x),
                        super::super::gelu(x),
                        super::super::gelu_tanh(x),
                    ];
                    for f in 0..4 {
                        let (g, w) = (got[f][i], want[f]);
                        assert!(
                            (g - w).abs() <= 1e-6 * w.abs().max(1.0),
                            "function {f} at {x}: {g} against {w}"
                        );
                    }
                }
            }
        }
    }
}
