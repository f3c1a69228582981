//! The `avx512` kernel's products: A and B rounded to bf16, every sum in f32, one `vdpbf16ps`
//! adding two products to each of 16 lanes (twice the multiplies per instruction of an f32 FMA).
//! B is packed once (a weight) or per head (attention's keys and values) as pairs of rows; A is
//! rounded row by row as it is read, or arrives rounded (attention's probabilities, which the
//! softmax writes in bf16).

#[cfg(target_arch = "x86_64")]
use super::amx::{self, DEPTH as AMX_DEPTH};
use super::{Epilogue, Init, Kernel};

#[cfg(not(target_arch = "x86_64"))]
const AMX_DEPTH: usize = 32;

/// Columns of C per bf16 micro-kernel call: two 512-bit registers of 16 floats.
pub const NR_BF16: usize = 32;
/// Rows of C per bf16 micro-kernel call: 24 accumulators of the 32 registers.
const MR_BF16: usize = 12;
/// Shared-dimension slice (even): a panel slice of `KC_BF16`×32 bf16 (24 KiB) stays in L1.
const KC_BF16: usize = 384;
/// Rows of A per block.
const MC_BF16: usize = 96;

/// B (`k`×`n`) rounded to bf16 for `Kernel::gemm_bf16`, in panels of `NR_BF16` columns: panel
/// `p` holds, for each pair of B's rows `(2q, 2q+1)`, the panel's 32 columns as 32-bit pairs
/// (`B[2q][j]` in the low half, `B[2q+1][j]` in the high: what `vdpbf16ps` and AMX's
/// `tdpbf16ps` multiply); an odd `k` gets a row of zeros, columns past `n` are zeros, and each
/// panel is padded with pairs of zeros to a multiple of `PAIRS_ALIGN` (one AMX tile's depth), so
/// that a tile may read past `k`.
#[derive(Default)]
pub struct PanelsBf16 {
    pub k: usize,
    pub n: usize,
    /// Pairs per panel: `k / 2` rounded up to a multiple of `PAIRS_ALIGN`.
    stride: usize,
    data: Vec<u32>,
}

/// Each panel's pairs are padded to a multiple of this.
pub const PAIRS_ALIGN: usize = 16;

impl PanelsBf16 {
    /// Packs B where `B[kk][j] = src[j * ld + kk]` (a linear layer's weight as saved).
    pub fn pack_nk(src: &[f32], ld: usize, k: usize, n: usize) -> PanelsBf16 {
        let mut p = PanelsBf16::default();
        p.pack_nk_into(src, ld, k, n);
        p
    }

    /// As `pack_nk`, into this buffer (attention's keys, per head).
    pub fn pack_nk_into(&mut self, src: &[f32], ld: usize, k: usize, n: usize) {
        let pairs = self.reset(k, n);
        let mut row = vec![0u16; 2 * pairs];
        for j in 0..n {
            round_into(&src[j * ld..][..k], &mut row);
            let panel = &mut self.data[(j / NR_BF16) * self.stride * NR_BF16 + j % NR_BF16..];
            for (q, pair) in row.chunks_exact(2).enumerate() {
                panel[q * NR_BF16] = u32::from(pair[0]) | u32::from(pair[1]) << 16;
            }
        }
    }

    /// As `pack_nk_into`, from B already rounded: `B[kk][j] = src[j * ld + kk]`.
    pub fn pack_nk_rounded_into(&mut self, src: &[u16], ld: usize, k: usize, n: usize) {
        let pairs = self.reset(k, n);
        for j in 0..n {
            let col = &src[j * ld..][..k];
            let panel = &mut self.data[(j / NR_BF16) * self.stride * NR_BF16 + j % NR_BF16..];
            for q in 0..pairs {
                let hi = col.get(2 * q + 1).copied().unwrap_or(0);
                panel[q * NR_BF16] = u32::from(col[2 * q]) | u32::from(hi) << 16;
            }
        }
    }

    /// Packs B already rounded where `B[kk][j] = src[kk * ld + j]` (row-major `k`×`n`:
    /// attention's values), into this buffer.
    pub fn pack_kn_rounded_into(&mut self, src: &[u16], ld: usize, k: usize, n: usize) {
        let pairs = self.reset(k, n);
        for q in 0..pairs {
            let row = 2 * q;
            for j0 in (0..n).step_by(NR_BF16) {
                let cols = NR_BF16.min(n - j0);
                let out = &mut self.data[((j0 / NR_BF16) * self.stride + q) * NR_BF16..][..cols];
                for (c, o) in out.iter_mut().enumerate() {
                    let hi = if row + 1 < k {
                        src[(row + 1) * ld + j0 + c]
                    } else {
                        0
                    };
                    *o = u32::from(src[row * ld + j0 + c]) | u32::from(hi) << 16;
                }
            }
        }
    }

    /// Sizes the buffer for `k`×`n`, all zeros; returns the number of row pairs.
    fn reset(&mut self, k: usize, n: usize) -> usize {
        let pairs = k.div_ceil(2);
        self.k = k;
        self.n = n;
        self.stride = pairs.next_multiple_of(PAIRS_ALIGN);
        self.data.clear();
        self.data
            .resize(n.div_ceil(NR_BF16) * self.stride * NR_BF16, 0);
        pairs
    }
}

/// `x` rounded to the nearest bf16 (ties to even), as `vcvtneps2bf16` rounds; NaN stays NaN.
#[inline(always)]
pub fn bf16(x: f32) -> u16 {
    let b = x.to_bits();
    let rounded = (b.wrapping_add(0x7fff + ((b >> 16) & 1)) >> 16) as u16;
    if x.is_nan() {
        (b >> 16) as u16 | 0x40
    } else {
        rounded
    }
}

/// A bf16 widened to f32 (exact).
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits(u32::from(h) << 16)
}

/// Whether the AVX-512 conversions can run here (they are what `Avx512` is chosen for).
#[inline]
fn fast() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512bf16") && is_x86_feature_detected!("avx512bw")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `src` rounded to bf16 into `dst`, zeros after it.
pub fn round_into(src: &[f32], dst: &mut [u16]) {
    assert!(dst.len() >= src.len());
    #[cfg(target_arch = "x86_64")]
    if fast() {
        // SAFETY: the CPU has what `to_bf16` needs.
        return unsafe { avx512::to_bf16(src, dst) };
    }
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = bf16(s);
    }
    dst[src.len()..].fill(0);
}

/// Softmax of `xs * scale`, written rounded to bf16 into `out` (zeros after it); `xs` is left
/// holding the unnormalised exponentials.
#[inline(always)]
fn softmax_to_bf16(xs: &mut [f32], scale: f32, out: &mut [u16]) {
    let max = super::max8(xs);
    xs.iter_mut()
        .for_each(|x| *x = super::exp((*x - max) * scale));
    let inv = 1.0 / super::sum8(xs, |x| x);
    for (o, &x) in out.iter_mut().zip(xs.iter()) {
        *o = bf16(x * inv);
    }
    out[xs.len()..].fill(0);
}

thread_local! {
    /// A, rounded to bf16, for the product running on this thread.
    static A_BF16: std::cell::RefCell<Vec<u16>> = const { std::cell::RefCell::new(Vec::new()) };
    /// C in f32, for a product whose caller only wants it rounded.
    static C_SCRATCH: std::cell::RefCell<super::Buf> = std::cell::RefCell::new(super::Buf::default());
}

impl Kernel {
    /// Whether linear layers and attention should use `gemm_bf16` (`PanelsBf16`) rather than
    /// `gemm`.
    pub fn multiplies_in_bf16(self) -> bool {
        matches!(self, Kernel::Avx512 | Kernel::Amx)
    }

    /// The row length (in bf16) to give an operand of `k` values that will be A of
    /// `gemm_bf16_rounded`, zeros past `k`: even, and for `Amx` a whole number of tiles deep.
    pub fn bf16_width(self, k: usize) -> usize {
        match self {
            Kernel::Amx => k.next_multiple_of(AMX_DEPTH),
            _ => k.next_multiple_of(2),
        }
    }

    /// `C[m×n] = A[m×k] · B + bias`, then the epilogue, with A and B rounded to bf16 and every
    /// sum in f32 (as PyTorch's bf16 autocast multiplies). Only for kernels that
    /// `multiplies_in_bf16`.
    #[allow(clippy::too_many_arguments)]
    pub fn gemm_bf16(
        self,
        m: usize,
        a: &[f32],
        lda: usize,
        b: &PanelsBf16,
        bias: Option<&[f32]>,
        c: &mut [f32],
        ldc: usize,
        epilogue: Epilogue,
    ) {
        if m == 0 || b.n == 0 {
            return;
        }
        let k = b.k;
        assert!(k > 0 && lda >= k);
        assert!(a.len() >= (m - 1) * lda + k, "A is too short");
        let ka = self.bf16_width(k);
        A_BF16.with(|cell| {
            let mut rounded = cell.borrow_mut();
            rounded.resize(m * ka, 0);
            for r in 0..m {
                round_into(&a[r * lda..][..k], &mut rounded[r * ka..][..ka]);
            }
            self.gemm_bf16_rounded(m, &rounded, ka, b, bias, c, ldc, epilogue, None);
        });
    }

    /// As `gemm_bf16`, with A already rounded: `m` rows of `lda` (even) bf16, each zero past
    /// `k`. `Amx` reads each row up to `bf16_width(k)` (past `k` the values are multiplied by
    /// B's zero padding; they must be finite, and within `a`). With `rounded_c` (`n` even), C is
    /// also written there rounded (rows `ld` apart), as each tile is finished, for the next
    /// product to read; then `c` may be empty, and only the rounded C is written.
    #[allow(clippy::too_many_arguments)]
    pub fn gemm_bf16_rounded(
        self,
        m: usize,
        a: &[u16],
        lda: usize,
        b: &PanelsBf16,
        bias: Option<&[f32]>,
        c: &mut [f32],
        ldc: usize,
        epilogue: Epilogue,
        mut rounded_c: Option<(&mut [u16], usize)>,
    ) {
        assert!(
            self.multiplies_in_bf16(),
            "{} has no bf16 product",
            self.name()
        );
        let (k, n) = (b.k, b.n);
        if m == 0 || n == 0 {
            return;
        }
        let pairs = k.div_ceil(2);
        let ka = 2 * pairs;
        assert!(k > 0 && lda >= ka && lda.is_multiple_of(2));
        assert!(a.len() >= (m - 1) * lda + ka, "A is too short");
        assert!(b.stride >= pairs && b.data.len() >= n.div_ceil(NR_BF16) * b.stride * NR_BF16);
        if let Some((out, ld)) = &rounded_c {
            assert!(n.is_multiple_of(2) && *ld >= n && out.len() >= (m - 1) * ld + n);
        }
        if c.is_empty() {
            assert!(rounded_c.is_some(), "a product must write C somewhere");
        }
        #[cfg(target_arch = "x86_64")]
        if self == Kernel::Amx {
            let c = (!c.is_empty()).then_some((c, ldc));
            return self.gemm_amx(m, a, lda, b, bias, c, epilogue, rounded_c);
        }
        if c.is_empty() {
            // The f32 sums need a home while each tile is finished.
            return C_SCRATCH.with(|cell| {
                let mut scratch = cell.borrow_mut();
                scratch.resize((m - 1) * ldc + n);
                let c = scratch.as_mut_slice();
                self.gemm_bf16_rounded(m, a, lda, b, bias, c, ldc, epilogue, rounded_c)
            });
        }
        self.drive::<NR_BF16, MR_BF16>(
            m,
            ka,
            n,
            (KC_BF16, MC_BF16),
            bias,
            c,
            ldc,
            epilogue,
            |rows, r0, k0, kc, p, c, ldc, init| {
                let bp = &b.data[(p * b.stride + k0 / 2) * NR_BF16..][..kc / 2 * NR_BF16];
                let ap = a[r0 * lda + k0..].as_ptr();
                // SAFETY: `r0 + rows <= m` rows of A hold `kc` past `k0`; `drive` bounds C;
                // `Avx512` is only chosen where the CPU has AVX-512 F, BW and BF16.
                #[cfg(target_arch = "x86_64")]
                unsafe {
                    avx512::tile_rows(rows, ap, lda, bp.as_ptr(), kc, c, ldc, init)
                };
                #[cfg(not(target_arch = "x86_64"))]
                let _ = (rows, ap, bp, c, ldc, init);
            },
            |r, j0, row| {
                if let Some((out, ld)) = rounded_c.as_mut() {
                    round_into(row, &mut out[r * *ld + j0..][..row.len()]);
                }
            },
        );
    }

    /// `gemm_bf16_rounded` on the tile unit, C written in f32 where given.
    #[cfg(target_arch = "x86_64")]
    #[allow(clippy::too_many_arguments)]
    fn gemm_amx(
        self,
        m: usize,
        a: &[u16],
        lda: usize,
        b: &PanelsBf16,
        bias: Option<&[f32]>,
        c: Option<(&mut [f32], usize)>,
        epilogue: Epilogue,
        rounded_c: Option<(&mut [u16], usize)>,
    ) {
        let (k, n) = (b.k, b.n);
        let kt = self.bf16_width(k);
        assert!(
            a.len() >= (m - 1) * lda + kt,
            "A is too short for whole tiles"
        );
        assert!(b.stride * 2 >= kt);
        if let Some((c, ldc)) = &c {
            assert!(*ldc >= n && c.len() >= (m - 1) * ldc + n, "C is too short");
        }
        super::check_around_c(m, n, bias, &epilogue);
        let stride = b.stride;
        let shape = amx::Shape {
            m,
            n,
            kt,
            lda,
            stride,
        };
        // SAFETY: the asserts here and in the caller bound A (whole tiles deep), B (panels padded
        // to whole tiles), C, the bias, the residual and the rounded C; `Amx` is only chosen
        // where the CPU has AMX-BF16 and AVX-512 and Linux granted the tile state.
        unsafe { amx::gemm(shape, a, &b.data, bias, c, epilogue, rounded_c) }
    }

    /// Softmax of `xs * scale` rounded to bf16 into `out` (as long as `xs` or longer: zeros
    /// after), ready to be A of `gemm_bf16_rounded`. `xs` is left unspecified.
    pub fn softmax_bf16(self, xs: &mut [f32], scale: f32, out: &mut [u16]) {
        assert!(out.len() >= xs.len());
        #[cfg(target_arch = "x86_64")]
        if self.multiplies_in_bf16() {
            // SAFETY: `Avx512` and `Amx` are only chosen where the CPU has what `wide` needs.
            return unsafe { super::wide::softmax_bf16(xs, scale, out) };
        }
        softmax_to_bf16(xs, scale, out)
    }
}

/// The bf16 micro-kernel and conversion on AVX-512.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{Init, NR_BF16};
    use std::arch::x86_64::*;

    /// `src` rounded to bf16 into `dst`, zeros after it.
    ///
    /// # Safety
    /// The CPU has AVX-512 F, BW and BF16; `dst` is at least as long as `src`.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    pub unsafe fn to_bf16(src: &[f32], dst: &mut [u16]) {
        assert!(dst.len() >= src.len());
        let whole = src.len() / 16 * 16;
        for i in (0..whole).step_by(16) {
            let h = _mm512_cvtneps_pbh(_mm512_loadu_ps(src.as_ptr().add(i)));
            _mm256_storeu_si256(
                dst.as_mut_ptr().add(i) as *mut __m256i,
                std::mem::transmute::<__m256bh, __m256i>(h),
            );
        }
        for i in whole..src.len() {
            dst[i] = super::bf16(src[i]);
        }
        dst[src.len()..].fill(0);
    }

    /// One tile of up to 12 rows, by its row count.
    ///
    /// # Safety
    /// As `tile`.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub unsafe fn tile_rows(
        rows: usize,
        a: *const u16,
        lda: usize,
        b: *const u32,
        kc: usize,
        c: *mut f32,
        ldc: usize,
        init: Init,
    ) {
        macro_rules! go {
            ($($r:literal)*) => {
                match rows {
                    $($r => tile::<$r>(a, lda, b, kc, c, ldc, init),)*
                    _ => unreachable!("at most 12 rows"),
                }
            };
        }
        go!(1 2 3 4 5 6 7 8 9 10 11 12)
    }

    /// `R`×32 floats of C in `2R` registers; per pair of the shared dimension, one broadcast of
    /// A's pair per row and two loads of B's pairs, each `vdpbf16ps` adding two products per lane.
    ///
    /// # Safety
    /// `a` has `R` rows of `kc` (even) readable bf16 `lda` apart; `b` holds `kc / 2`×32 pairs;
    /// `c` has `R` rows of 32 writable floats `ldc` apart; a bias pointer holds 32 floats; the
    /// CPU has AVX-512 F, BW and BF16.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    unsafe fn tile<const R: usize>(
        a: *const u16,
        lda: usize,
        b: *const u32,
        kc: usize,
        c: *mut f32,
        ldc: usize,
        init: Init,
    ) {
        let mut lo = [_mm512_setzero_ps(); R];
        let mut hi = [_mm512_setzero_ps(); R];
        match init {
            Init::Zero => {}
            Init::Bias(p) => {
                let (b0, b1) = (_mm512_loadu_ps(p), _mm512_loadu_ps(p.add(16)));
                for r in 0..R {
                    lo[r] = b0;
                    hi[r] = b1;
                }
            }
            Init::Load => {
                for r in 0..R {
                    lo[r] = _mm512_loadu_ps(c.add(r * ldc));
                    hi[r] = _mm512_loadu_ps(c.add(r * ldc + 16));
                }
            }
        }
        let mut rows = [a as *const i32; R];
        for (r, p) in rows.iter_mut().enumerate() {
            *p = a.add(r * lda) as *const i32;
        }
        let mut bp = b;
        for q in 0..kc / 2 {
            let b0: __m512bh = std::mem::transmute(_mm512_loadu_si512(bp as *const __m512i));
            let b1: __m512bh =
                std::mem::transmute(_mm512_loadu_si512(bp.add(16) as *const __m512i));
            for r in 0..R {
                let av: __m512bh =
                    std::mem::transmute(_mm512_set1_epi32(rows[r].add(q).read_unaligned()));
                lo[r] = _mm512_dpbf16_ps(lo[r], av, b0);
                hi[r] = _mm512_dpbf16_ps(hi[r], av, b1);
            }
            bp = bp.add(NR_BF16);
        }
        for r in 0..R {
            _mm512_storeu_ps(c.add(r * ldc), lo[r]);
            _mm512_storeu_ps(c.add(r * ldc + 16), hi[r]);
        }
    }
}
