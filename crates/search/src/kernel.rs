//! The encoder's arithmetic: one matrix product (`C = A·B + bias`, then GELU or a residual, in the
//! same pass over the tile) and the element-wise functions around it (GELU, softmax, layer norm).
//! Which instructions run is chosen once, at load, by what the CPU has: `amx` (the products on
//! the tile unit, `amx`, in bf16 with f32 sums; the rest as `avx512`) where the CPU has AMX-BF16
//! and Linux grants the tile state, else `avx512` (AVX-512 with BF16 dot products: the encoder's
//! products in bf16 with f32 sums, `bf16`; the rest as `avx2` but 16 wide), else `avx2` (AVX2 +
//! FMA intrinsics, f32), else `portable` (plain Rust the compiler vectorises for the baseline
//! target). Asking for a kernel the CPU cannot run is an error at start-up that says what the
//! CPU lacks and what it can run.
//!
//! The product is BLIS-shaped: B (a weight matrix, packed once at load, or an attention operand
//! packed per head) is stored in panels of `NR` columns so the micro-kernel reads it contiguously;
//! A is read in place (row-major, any row stride); the micro-kernel keeps an `MR`×`NR` tile of C
//! in registers over a `KC`-long slice of the shared dimension.

use std::fmt;
use std::str::FromStr;

#[cfg(target_arch = "x86_64")]
mod amx;
mod bf16;
#[cfg(target_arch = "x86_64")]
mod wide;
pub use bf16::{bf16, bf16_to_f32, round_into, PanelsBf16, NR_BF16};

/// Rows of C per micro-kernel call.
pub const MR: usize = 6;
/// Columns of C per micro-kernel call: the width of a packed panel.
pub const NR: usize = 16;
/// Shared-dimension slice per pass: a panel slice of `KC`×`NR` floats (24 KiB) stays in L1.
const KC: usize = 384;
/// Rows of A per block: `MC`×`KC` floats (144 KiB) stay in L2 while every panel passes over them.
const MC: usize = 96;

/// The `embed_kernel` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KernelChoice {
    /// The fastest kernel this CPU can run.
    #[default]
    Auto,
    Amx,
    Avx512,
    Avx2,
    Portable,
}

impl KernelChoice {
    pub const NAMES: [&'static str; 5] = ["auto", "amx", "avx512", "avx2", "portable"];

    pub fn name(self) -> &'static str {
        match self {
            KernelChoice::Auto => "auto",
            KernelChoice::Amx => "amx",
            KernelChoice::Avx512 => "avx512",
            KernelChoice::Avx2 => "avx2",
            KernelChoice::Portable => "portable",
        }
    }
}

impl fmt::Display for KernelChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KernelChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "auto" => KernelChoice::Auto,
            "amx" => KernelChoice::Amx,
            "avx512" => KernelChoice::Avx512,
            "avx2" => KernelChoice::Avx2,
            "portable" => KernelChoice::Portable,
            other => {
                return Err(format!(
                    "unknown embedding kernel {other:?} (one of {})",
                    KernelChoice::NAMES.join(", ")
                ))
            }
        })
    }
}

/// A kernel this build can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// AMX tiles: the products of `Avx512` (same operands, same rounding) on the tile unit;
    /// everything else as `Avx512`.
    Amx,
    /// AVX-512 with BF16 dot products: linear layers multiply in bf16 with f32 sums
    /// (`gemm_bf16`); everything else as `Avx2`.
    Avx512,
    Avx2,
    Portable,
}

/// Asked for a kernel this CPU (or this build) cannot run.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct KernelError(pub String);

/// What `amx` needs besides the CPU's features: Linux's leave to use the tile state.
const AMX_PERMISSION: &str = "the tile state from Linux (arch_prctl ARCH_REQ_XCOMP_PERM, 5.16+)";

/// CPU features, by name as `/proc/cpuinfo` spells them, that `choice` needs and this CPU lacks.
fn missing_features(choice: KernelChoice) -> Vec<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        // `amx` runs everything but the products as `avx512` does.
        const AVX512: [&str; 6] = [
            "avx512f",
            "avx512bw",
            "avx512vl",
            "avx512_bf16",
            "avx2",
            "fma",
        ];
        let want: Vec<&'static str> = match choice {
            KernelChoice::Amx => ["amx_tile", "amx_bf16"]
                .into_iter()
                .chain(AVX512)
                .chain([AMX_PERMISSION])
                .collect(),
            KernelChoice::Avx512 => AVX512.to_vec(),
            KernelChoice::Avx2 => vec!["avx2", "fma"],
            KernelChoice::Auto | KernelChoice::Portable => vec![],
        };
        want.into_iter().filter(|f| !x86::has(f)).collect()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        match choice {
            KernelChoice::Amx => vec!["amx_tile", "amx_bf16"],
            KernelChoice::Avx512 => vec!["avx512f", "avx512bw", "avx512_bf16"],
            KernelChoice::Avx2 => vec!["avx2", "fma"],
            KernelChoice::Auto | KernelChoice::Portable => vec![],
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::__cpuid_count;

    /// Whether the CPU (and the OS, for the vector registers) offers `feature`.
    pub fn has(feature: &str) -> bool {
        match feature {
            "avx2" => is_x86_feature_detected!("avx2"),
            "fma" => is_x86_feature_detected!("fma"),
            "avx512f" => is_x86_feature_detected!("avx512f"),
            "avx512bw" => is_x86_feature_detected!("avx512bw"),
            "avx512vl" => is_x86_feature_detected!("avx512vl"),
            "avx512_bf16" => is_x86_feature_detected!("avx512bf16"),
            // Leaf 7 EDX bits 24 (tiles) and 22 (bf16 tiles).
            "amx_tile" => cpuid7(0).3 & (1 << 24) != 0,
            "amx_bf16" => cpuid7(0).3 & (1 << 22) != 0,
            // Asked of Linux only where the CPU has the tiles.
            super::AMX_PERMISSION => has("amx_tile") && super::amx::permitted(),
            _ => false,
        }
    }

    fn cpuid7(sub: u32) -> (u32, u32, u32, u32) {
        // cpuid is on every x86_64 CPU; leaf 7 only where the highest leaf says so.
        if __cpuid_count(0, 0).eax < 7 {
            return (0, 0, 0, 0);
        }
        let r = __cpuid_count(7, sub);
        (r.eax, r.ebx, r.ecx, r.edx)
    }
}

impl Kernel {
    /// Every kernel's name, as `name` gives it.
    pub const NAMES: [&'static str; 4] = ["amx", "avx512", "avx2", "portable"];

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Amx => "amx",
            Kernel::Avx512 => "avx512",
            Kernel::Avx2 => "avx2",
            Kernel::Portable => "portable",
        }
    }

    /// The kernels this CPU can run, fastest first.
    pub fn available() -> Vec<Kernel> {
        let mut all = Vec::new();
        if missing_features(KernelChoice::Amx).is_empty() {
            all.push(Kernel::Amx);
        }
        if missing_features(KernelChoice::Avx512).is_empty() {
            all.push(Kernel::Avx512);
        }
        if missing_features(KernelChoice::Avx2).is_empty() {
            all.push(Kernel::Avx2);
        }
        all.push(Kernel::Portable);
        all
    }

    /// The kernel for a setting: `auto` is the fastest available; a named one must be runnable.
    pub fn resolve(choice: KernelChoice) -> Result<Kernel, KernelError> {
        let available = Kernel::available();
        let names = || {
            available
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let missing = missing_features(choice);
        match choice {
            KernelChoice::Auto => Ok(available[0]),
            KernelChoice::Portable => Ok(Kernel::Portable),
            KernelChoice::Avx2 if missing.is_empty() => Ok(Kernel::Avx2),
            KernelChoice::Avx512 if missing.is_empty() => Ok(Kernel::Avx512),
            KernelChoice::Amx if missing.is_empty() => Ok(Kernel::Amx),
            _ => Err(KernelError(format!(
                "embed_kernel = \"{choice}\": this CPU lacks {}; it can run: {} (or \"auto\")",
                missing.join(", "),
                names()
            ))),
        }
    }
}

/// Asserts that a product's bias and its epilogue's residual cover C's `m`×`n`.
fn check_around_c(m: usize, n: usize, bias: Option<&[f32]>, epilogue: &Epilogue) {
    if let Some(bias) = bias {
        assert!(bias.len() >= n);
    }
    if let Epilogue::Add(r, ldr) = epilogue {
        assert!(*ldr >= n && r.len() >= (m - 1) * ldr + n);
    }
}

/// A 32-byte aligned buffer of floats, so the micro-kernels' vector loads never split a cache line.
#[derive(Default)]
pub struct Buf {
    raw: Vec<f32>,
    start: usize,
    len: usize,
}

impl Buf {
    pub fn zeros(len: usize) -> Buf {
        let mut b = Buf::default();
        b.resize(len);
        b
    }

    /// Makes the buffer `len` long (contents unspecified: zero when it grew). It grows with a
    /// quarter to spare, so that chunks of slightly different sizes do not each allocate (and
    /// fault in) fresh pages.
    pub fn resize(&mut self, len: usize) {
        if self.raw.len() < len + 8 {
            self.raw = vec![0.0; len + len / 4 + 8];
            self.start = self.raw.as_ptr().align_offset(32).min(7);
        }
        self.len = len;
    }

    pub fn as_slice(&self) -> &[f32] {
        &self.raw[self.start..self.start + self.len]
    }

    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.raw[self.start..self.start + self.len]
    }
}

/// B (`k`×`n`) in panels of `NR` columns: panel `p` holds, row by row, `B[kk][p*NR..p*NR+NR]`
/// (zeros past `n`).
pub struct Panels<'a> {
    pub k: usize,
    pub n: usize,
    pub data: &'a [f32],
}

/// Packs B where `B[kk][j] = src[kk * ld + j]` (row-major `k`×`n`).
pub fn pack_kn(buf: &mut Buf, src: &[f32], ld: usize, k: usize, n: usize) {
    let panels = n.div_ceil(NR);
    buf.resize(panels * k * NR);
    let out = buf.as_mut_slice();
    for p in 0..panels {
        let j0 = p * NR;
        let cols = NR.min(n - j0);
        for kk in 0..k {
            let dst = &mut out[(p * k + kk) * NR..][..NR];
            dst[..cols].copy_from_slice(&src[kk * ld + j0..][..cols]);
            dst[cols..].fill(0.0);
        }
    }
}

/// Packs B where `B[kk][j] = src[j * ld + kk]` (the transpose of row-major `n`×`k`: a linear
/// layer's weight as saved, or the keys of attention).
pub fn pack_nk(buf: &mut Buf, src: &[f32], ld: usize, k: usize, n: usize) {
    let panels = n.div_ceil(NR);
    buf.resize(panels * k * NR);
    let out = buf.as_mut_slice();
    for p in 0..panels {
        let j0 = p * NR;
        let cols = NR.min(n - j0);
        let panel = &mut out[p * k * NR..][..k * NR];
        if cols < NR {
            panel.fill(0.0);
        }
        for c in 0..cols {
            let row = &src[(j0 + c) * ld..][..k];
            for (kk, &v) in row.iter().enumerate() {
                panel[kk * NR + c] = v;
            }
        }
    }
}

/// What the product does to each finished tile of C.
#[derive(Clone, Copy)]
pub enum Epilogue<'a> {
    None,
    /// The exact GELU (erf).
    Gelu,
    /// The tanh approximation of GELU.
    GeluTanh,
    Relu,
    /// Adds a matrix of C's shape (row stride given): a residual connection.
    Add(&'a [f32], usize),
}

#[derive(Clone, Copy)]
enum Init {
    Zero,
    /// `NR` floats.
    Bias(*const f32),
    Load,
}

impl Kernel {
    /// `C[m×n] = A[m×k] · B + bias`, then the epilogue. A's rows are `lda` apart, C's `ldc`.
    #[allow(clippy::too_many_arguments)]
    pub fn gemm(
        self,
        m: usize,
        a: &[f32],
        lda: usize,
        b: &Panels,
        bias: Option<&[f32]>,
        c: &mut [f32],
        ldc: usize,
        epilogue: Epilogue,
    ) {
        let (k, n) = (b.k, b.n);
        if m == 0 || n == 0 {
            return;
        }
        assert!(k > 0 && lda >= k);
        assert!(a.len() >= (m - 1) * lda + k, "A is too short");
        assert!(b.data.len() >= n.div_ceil(NR) * k * NR, "B is too short");
        self.drive::<NR, MR>(
            m,
            k,
            n,
            (KC, MC),
            bias,
            c,
            ldc,
            epilogue,
            |rows, r0, k0, kc, p, c, ldc, init| {
                let bp = &b.data[(p * k + k0) * NR..][..kc * NR];
                // SAFETY: the asserts above bound every row of A read; `drive` bounds C.
                unsafe {
                    self.tile(
                        rows,
                        a[r0 * lda + k0..].as_ptr(),
                        lda,
                        bp.as_ptr(),
                        kc,
                        c,
                        ldc,
                        init,
                    )
                }
            },
            |_, _, _| {},
        );
    }

    /// The loops around a micro-kernel of `MRX`×`NRX` (BLIS' order): slices of `kc` of the shared
    /// dimension, blocks of `mc` rows of A, every panel of B over the block, tiles of `MRX` rows;
    /// the bias starts each sum, the epilogue finishes each tile after the last slice. `tile`
    /// computes one tile: `(rows, first row, k0, kc, panel, C, C's row stride, start)`; a partial
    /// panel (past `n`) goes through a full-width tile of its own. `finished` sees each finished
    /// row of a tile: `(row, first column, values)`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn drive<const NRX: usize, const MRX: usize>(
        self,
        m: usize,
        k: usize,
        n: usize,
        (kc_max, mc_max): (usize, usize),
        bias: Option<&[f32]>,
        c: &mut [f32],
        ldc: usize,
        epilogue: Epilogue,
        mut tile: impl FnMut(usize, usize, usize, usize, usize, *mut f32, usize, Init),
        mut finished: impl FnMut(usize, usize, &[f32]),
    ) {
        const TILE: usize = 16 * 32;
        assert!(NRX * MRX <= TILE && NRX <= 32);
        assert!(ldc >= n);
        assert!(c.len() >= (m - 1) * ldc + n, "C is too short");
        check_around_c(m, n, bias, &epilogue);
        let panels = n.div_ceil(NRX);
        let mut k0 = 0;
        while k0 < k {
            let kc = kc_max.min(k - k0);
            let last = k0 + kc == k;
            for i0 in (0..m).step_by(mc_max) {
                let mc = mc_max.min(m - i0);
                for p in 0..panels {
                    let j0 = p * NRX;
                    let cols = NRX.min(n - j0);
                    let mut bias_tile = [0f32; 32];
                    let init = match (k0, bias) {
                        (0, Some(bias)) => {
                            bias_tile[..cols].copy_from_slice(&bias[j0..j0 + cols]);
                            Init::Bias(bias_tile.as_ptr())
                        }
                        (0, None) => Init::Zero,
                        _ => Init::Load,
                    };
                    let mut r0 = i0;
                    while r0 < i0 + mc {
                        let rows = MRX.min(i0 + mc - r0);
                        let c_off = r0 * ldc + j0;
                        if cols == NRX {
                            tile(rows, r0, k0, kc, p, c[c_off..].as_mut_ptr(), ldc, init);
                        } else {
                            let mut t = [0f32; TILE];
                            if let Init::Load = init {
                                for r in 0..rows {
                                    t[r * NRX..r * NRX + cols]
                                        .copy_from_slice(&c[c_off + r * ldc..][..cols]);
                                }
                            }
                            tile(rows, r0, k0, kc, p, t.as_mut_ptr(), NRX, init);
                            for r in 0..rows {
                                c[c_off + r * ldc..][..cols]
                                    .copy_from_slice(&t[r * NRX..r * NRX + cols]);
                            }
                        }
                        if last {
                            for r in 0..rows {
                                let row = &mut c[c_off + r * ldc..][..cols];
                                match epilogue {
                                    Epilogue::None => {}
                                    Epilogue::Gelu => self.gelu(row),
                                    Epilogue::GeluTanh => self.gelu_tanh(row),
                                    Epilogue::Relu => row.iter_mut().for_each(|x| *x = x.max(0.0)),
                                    Epilogue::Add(res, ldr) => {
                                        let res = &res[(r0 + r) * ldr + j0..][..cols];
                                        row.iter_mut().zip(res).for_each(|(x, y)| *x += y);
                                    }
                                }
                                finished(r0 + r, j0, row);
                            }
                        }
                        r0 += rows;
                    }
                }
            }
            k0 += kc;
        }
    }

    /// One `rows`×`NR` tile.
    ///
    /// # Safety
    /// `a` has `rows` rows of `kc` readable floats `lda` apart; `b` holds `kc`×`NR` floats; `c`
    /// has `rows` rows of `NR` writable floats `ldc` apart; a bias pointer holds `NR` floats.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    unsafe fn tile(
        self,
        rows: usize,
        a: *const f32,
        lda: usize,
        b: *const f32,
        kc: usize,
        c: *mut f32,
        ldc: usize,
        init: Init,
    ) {
        macro_rules! by_rows {
            ($f:ident) => {
                match rows {
                    1 => $f::<1>(a, lda, b, kc, c, ldc, init),
                    2 => $f::<2>(a, lda, b, kc, c, ldc, init),
                    3 => $f::<3>(a, lda, b, kc, c, ldc, init),
                    4 => $f::<4>(a, lda, b, kc, c, ldc, init),
                    5 => $f::<5>(a, lda, b, kc, c, ldc, init),
                    _ => $f::<6>(a, lda, b, kc, c, ldc, init),
                }
            };
        }
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Amx | Kernel::Avx512 | Kernel::Avx2 => by_rows!(tile_avx2),
            #[cfg(not(target_arch = "x86_64"))]
            Kernel::Amx | Kernel::Avx512 | Kernel::Avx2 => unreachable!("never chosen off x86_64"),
            Kernel::Portable => by_rows!(tile_portable),
        }
    }

    /// The exact GELU, in place.
    pub fn gelu(self, xs: &mut [f32]) {
        match self {
            // SAFETY: `Avx2` is only chosen where the CPU has AVX2 and FMA, `Avx512` and `Amx`
            // where it has AVX-512 F and BW as well.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { avx2_map::gelu(xs) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Amx | Kernel::Avx512 => unsafe { avx512_map::gelu(xs) },
            _ => xs.iter_mut().for_each(|x| *x = gelu(*x)),
        }
    }

    /// The tanh approximation of GELU, in place.
    pub fn gelu_tanh(self, xs: &mut [f32]) {
        match self {
            // SAFETY: as in `gelu`.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { avx2_map::gelu_tanh(xs) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Amx | Kernel::Avx512 => unsafe { avx512_map::gelu_tanh(xs) },
            _ => xs.iter_mut().for_each(|x| *x = gelu_tanh(*x)),
        }
    }

    /// Softmax of `xs * scale`, in place.
    pub fn softmax(self, xs: &mut [f32], scale: f32) {
        match self {
            // SAFETY: as in `gelu`.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { avx2_map::softmax(xs, scale) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Amx | Kernel::Avx512 => unsafe { avx512_map::softmax(xs, scale) },
            _ => softmax(xs, scale),
        }
    }

    /// Layer norm of one row, in place.
    pub fn layer_norm(self, xs: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
        match self {
            // SAFETY: as in `gelu`.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { avx2_map::layer_norm(xs, gamma, beta, eps) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Amx | Kernel::Avx512 => unsafe { avx512_map::layer_norm(xs, gamma, beta, eps) },
            _ => layer_norm(xs, gamma, beta, eps),
        }
    }
}

/// The micro-kernel in plain Rust: `NR`-wide rows of independent sums the compiler vectorises.
///
/// # Safety
/// As `Kernel::tile`.
#[inline(always)]
unsafe fn tile_portable<const R: usize>(
    a: *const f32,
    lda: usize,
    b: *const f32,
    kc: usize,
    c: *mut f32,
    ldc: usize,
    init: Init,
) {
    let mut acc = [[0f32; NR]; R];
    match init {
        Init::Zero => {}
        Init::Bias(p) => {
            let bias = &*(p as *const [f32; NR]);
            acc.iter_mut().for_each(|r| *r = *bias);
        }
        Init::Load => {
            for (r, row) in acc.iter_mut().enumerate() {
                *row = *(c.add(r * ldc) as *const [f32; NR]);
            }
        }
    }
    for kk in 0..kc {
        let bv = &*(b.add(kk * NR) as *const [f32; NR]);
        for (r, row) in acc.iter_mut().enumerate() {
            let av = *a.add(r * lda + kk);
            for j in 0..NR {
                row[j] += av * bv[j];
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        *(c.add(r * ldc) as *mut [f32; NR]) = *row;
    }
}

/// The micro-kernel on AVX2 + FMA: `R`×16 floats of C in `2R` registers, one broadcast of A and
/// two loads of B per step of the shared dimension.
///
/// # Safety
/// As `Kernel::tile`, and the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2<const R: usize>(
    a: *const f32,
    lda: usize,
    b: *const f32,
    kc: usize,
    c: *mut f32,
    ldc: usize,
    init: Init,
) {
    use std::arch::x86_64::*;
    let mut lo = [_mm256_setzero_ps(); R];
    let mut hi = [_mm256_setzero_ps(); R];
    match init {
        Init::Zero => {}
        Init::Bias(p) => {
            let (b0, b1) = (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8)));
            for r in 0..R {
                lo[r] = b0;
                hi[r] = b1;
            }
        }
        Init::Load => {
            for r in 0..R {
                lo[r] = _mm256_loadu_ps(c.add(r * ldc));
                hi[r] = _mm256_loadu_ps(c.add(r * ldc + 8));
            }
        }
    }
    let mut rows = [a; R];
    for (r, p) in rows.iter_mut().enumerate() {
        *p = a.add(r * lda);
    }
    let mut bp = b;
    for kk in 0..kc {
        let b0 = _mm256_loadu_ps(bp);
        let b1 = _mm256_loadu_ps(bp.add(8));
        for r in 0..R {
            let av = _mm256_broadcast_ss(&*rows[r].add(kk));
            lo[r] = _mm256_fmadd_ps(av, b0, lo[r]);
            hi[r] = _mm256_fmadd_ps(av, b1, hi[r]);
        }
        bp = bp.add(NR);
    }
    for r in 0..R {
        _mm256_storeu_ps(c.add(r * ldc), lo[r]);
        _mm256_storeu_ps(c.add(r * ldc + 8), hi[r]);
    }
}

/// The element-wise functions compiled for AVX2 + FMA: the same plain Rust, which the compiler
/// vectorises 8 wide here instead of 4.
#[cfg(target_arch = "x86_64")]
mod avx2_map {
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn gelu(xs: &mut [f32]) {
        xs.iter_mut().for_each(|x| *x = super::gelu(*x));
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn gelu_tanh(xs: &mut [f32]) {
        xs.iter_mut().for_each(|x| *x = super::gelu_tanh(*x));
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn softmax(xs: &mut [f32], scale: f32) {
        super::softmax(xs, scale)
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn layer_norm(xs: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
        super::layer_norm(xs, gamma, beta, eps)
    }
}

/// The same element-wise functions compiled for AVX-512: 16 wide.
#[cfg(target_arch = "x86_64")]
mod avx512_map {
    #[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
    pub unsafe fn gelu(xs: &mut [f32]) {
        xs.iter_mut().for_each(|x| *x = super::gelu(*x));
    }

    #[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
    pub unsafe fn gelu_tanh(xs: &mut [f32]) {
        xs.iter_mut().for_each(|x| *x = super::gelu_tanh(*x));
    }

    #[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
    pub unsafe fn softmax(xs: &mut [f32], scale: f32) {
        super::softmax(xs, scale)
    }

    #[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
    pub unsafe fn layer_norm(xs: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
        super::layer_norm(xs, gamma, beta, eps)
    }
}

/// `e^x` without a library call, so loops over it vectorise (Cephes' `expf`: `x = n ln 2 + r`,
/// a degree-6 polynomial for `e^r`, `2^n` built in the exponent bits). Relative error under
/// 2e-7 for |x| < 87; saturates beyond.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    let x = if x < -87.0 { -87.0 } else { x };
    let x = if x > 88.0 { 88.0 } else { x };
    let t = x * std::f32::consts::LOG2_E + MAGIC;
    let n = t - MAGIC;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    let bits = (t.to_bits() as i32 - MAGIC.to_bits() as i32 + 127) << 23;
    y * f32::from_bits(bits as u32)
}

/// `erf(x)` as a rational function (Eigen's `generic_fast_erf_float`), absolute error about 1e-7.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = if x > 4.0 { 4.0 } else { x };
    let x = if x < -4.0 { -4.0 } else { x };
    let x2 = x * x;
    let p = -2.726_142_3e-10;
    let p = p * x2 + 2.770_681_4e-8;
    let p = p * x2 + -2.101_024e-6;
    let p = p * x2 + -5.692_506_4e-5;
    let p = p * x2 + -7.349_906_3e-4;
    let p = p * x2 + -2.954_600_2e-3;
    let p = p * x2 + -1.609_603_3e-2;
    let q = -1.456_607_2e-5;
    let q = q * x2 + -2.133_740_6e-4;
    let q = q * x2 + -1.682_827e-3;
    let q = q * x2 + -7.373_329_2e-3;
    let q = q * x2 + -1.426_473_9e-2;
    x * p / q
}

#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

#[inline(always)]
pub fn gelu_tanh(x: f32) -> f32 {
    // tanh(u) = 1 - 2 / (e^{2u} + 1)
    let u = 0.797_884_6 * (x + 0.044_715 * x * x * x);
    0.5 * x * (2.0 - 2.0 / (exp(2.0 * u) + 1.0))
}

/// Sum in eight lanes, so the compiler may vectorise it (a single running sum may not be
/// reordered).
#[inline(always)]
fn sum8(xs: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = xs.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            acc[i] += f(c[i]);
        }
    }
    let tail: f32 = rest.iter().map(|&x| f(x)).sum();
    (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]) + tail
}

/// The largest of `xs` (minus infinity for none), in eight lanes as `sum8`.
#[inline(always)]
fn max8(xs: &[f32]) -> f32 {
    let mut m8 = [f32::NEG_INFINITY; 8];
    let chunks = xs.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            m8[i] = if c[i] > m8[i] { c[i] } else { m8[i] };
        }
    }
    rest.iter()
        .chain(&m8)
        .fold(f32::NEG_INFINITY, |m, &x| m.max(x))
}

#[inline(always)]
fn softmax(xs: &mut [f32], scale: f32) {
    let max = max8(xs);
    xs.iter_mut().for_each(|x| *x = exp((*x - max) * scale));
    let inv = 1.0 / sum8(xs, |x| x);
    xs.iter_mut().for_each(|x| *x *= inv);
}

#[inline(always)]
fn layer_norm(xs: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let n = xs.len() as f32;
    let mean = sum8(xs, |x| x) / n;
    let var = sum8(xs, |x| (x - mean) * (x - mean)) / n;
    let inv = 1.0 / (var + eps).sqrt();
    for ((x, g), b) in xs.iter_mut().zip(gamma).zip(beta) {
        *x = (*x - mean) * inv * g + b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf by its Maclaurin series, exact to f64 rounding for |x| <= 4 (beyond, 1 - erf(x) is
    /// under 2e-8).
    fn erf_f64(x: f64) -> f64 {
        if x.abs() >= 4.0 {
            return x.signum();
        }
        let mut sum = 0f64;
        let mut term = x;
        let mut n = 0.0;
        while term.abs() > 1e-17 * sum.abs().max(1e-300) || n < 5.0 {
            sum += term / (2.0 * n + 1.0);
            n += 1.0;
            term *= -x * x / n;
            if n > 400.0 {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn exp_and_erf_are_accurate() {
        let mut worst_exp = 0f64;
        let mut worst_erf = 0f64;
        for i in -8000..=8000 {
            let x = i as f32 / 1000.0;
            let e = (x as f64).exp();
            worst_exp = worst_exp.max(((exp(x) as f64) - e).abs() / e);
            worst_erf = worst_erf.max((erf(x) as f64 - erf_f64(x as f64)).abs());
        }
        assert!(worst_exp < 3e-7, "exp: relative error {worst_exp}");
        assert!(worst_erf < 1e-6, "erf: absolute error {worst_erf}");
        assert_eq!(exp(-200.0), exp(-87.0));
        assert!(exp(-87.0) > 0.0 && exp(100.0).is_finite());
    }

    fn naive(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: &[f32]) -> Vec<f32> {
        let mut c = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = bias[j] as f64;
                for kk in 0..k {
                    s += a[i * k + kk] as f64 * b[kk * n + j] as f64;
                }
                c[i * n + j] = s as f32;
            }
        }
        c
    }

    fn noise(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn every_kernel_multiplies_like_the_textbook() {
        // Shapes with partial tiles, partial panels and more than one KC slice.
        for &(m, k, n) in &[
            (1, 1, 1),
            (7, 33, 17),
            (13, 384, 48),
            (100, 800, 35),
            (6, 1536, 16),
        ] {
            let a = noise(m * k, 1);
            let bm = noise(k * n, 2);
            let bias = noise(n, 3);
            let want = naive(m, k, n, &a, &bm, &bias);
            let mut bt = vec![0f32; n * k];
            for kk in 0..k {
                for j in 0..n {
                    bt[j * k + kk] = bm[kk * n + j];
                }
            }
            for kernel in Kernel::available() {
                for transposed in [false, true] {
                    let mut buf = Buf::default();
                    if transposed {
                        pack_nk(&mut buf, &bt, k, k, n);
                    } else {
                        pack_kn(&mut buf, &bm, n, k, n);
                    }
                    let panels = Panels {
                        k,
                        n,
                        data: buf.as_slice(),
                    };
                    let mut c = vec![f32::NAN; m * n];
                    kernel.gemm(m, &a, k, &panels, Some(&bias), &mut c, n, Epilogue::None);
                    let worst = c
                        .iter()
                        .zip(&want)
                        .map(|(x, y)| (x - y).abs())
                        .fold(0f32, f32::max);
                    assert!(
                        worst < 1e-4,
                        "{} {m}x{k}x{n}: off by {worst}",
                        kernel.name()
                    );
                    // A residual is added after the sum.
                    let mut c2 = vec![0f32; m * n];
                    let res = noise(m * n, 4);
                    kernel.gemm(
                        m,
                        &a,
                        k,
                        &panels,
                        Some(&bias),
                        &mut c2,
                        n,
                        Epilogue::Add(&res, n),
                    );
                    for i in 0..m * n {
                        assert!((c2[i] - c[i] - res[i]).abs() < 1e-5);
                    }
                }
            }
        }
    }

    #[test]
    fn a_setting_the_cpu_cannot_run_is_refused_by_name() {
        assert_eq!("AVX2".parse::<KernelChoice>(), Ok(KernelChoice::Avx2));
        assert!("sse".parse::<KernelChoice>().is_err());
        assert_eq!(
            Kernel::resolve(KernelChoice::Portable).unwrap(),
            Kernel::Portable
        );
        assert_eq!(
            Kernel::resolve(KernelChoice::Auto).unwrap(),
            Kernel::available()[0]
        );
        // `amx` and `avx512` run where the CPU has their features, and are refused by what it
        // lacks elsewhere.
        for (choice, kernel) in [
            (KernelChoice::Amx, Kernel::Amx),
            (KernelChoice::Avx512, Kernel::Avx512),
        ] {
            let missing = missing_features(choice);
            match Kernel::resolve(choice) {
                Ok(k) => assert!(k == kernel && missing.is_empty()),
                Err(e) => assert!(
                    !missing.is_empty() && e.0.contains(missing[0]) && e.0.contains("portable"),
                    "{}",
                    e.0
                ),
            }
            assert_eq!(Kernel::available().contains(&kernel), missing.is_empty());
        }
        // The tile unit comes first where it runs.
        if Kernel::available().contains(&Kernel::Amx) {
            assert_eq!(Kernel::resolve(KernelChoice::Auto).unwrap(), Kernel::Amx);
        }
    }

    #[test]
    fn bf16_rounds_to_nearest_even() {
        assert_eq!(bf16(1.0), 0x3f80);
        assert_eq!(bf16_to_f32(bf16(1.0 + 1.0 / 256.0)), 1.0); // a tie: down to even
        assert_eq!(bf16_to_f32(bf16(1.0 + 3.0 / 256.0)), 1.0 + 4.0 / 256.0); // a tie: up
        assert_eq!(bf16_to_f32(bf16(-2.5)), -2.5);
        assert!(bf16_to_f32(bf16(f32::NAN)).is_nan());
        for x in noise(1000, 9) {
            assert!((bf16_to_f32(bf16(x)) - x).abs() <= x.abs() / 256.0);
        }
    }

    /// The bf16 product equals the textbook product of A and B rounded to bf16 (each product of
    /// two bf16 is exact in f32; only the order of the f32 sums differs).
    #[test]
    fn the_bf16_product_is_the_product_of_the_rounded_inputs() {
        let kernels: Vec<Kernel> = Kernel::available()
            .into_iter()
            .filter(|k| k.multiplies_in_bf16())
            .collect();
        if kernels.is_empty() {
            eprintln!("this CPU has no bf16 kernel; the bf16 product is not tested here");
        }
        for kernel in kernels {
            bf16_product_of_rounded_inputs(kernel);
        }
    }

    fn bf16_product_of_rounded_inputs(kernel: Kernel) {
        let round = |v: &[f32]| v.iter().map(|&x| bf16_to_f32(bf16(x))).collect::<Vec<_>>();
        for &(m, k, n) in &[
            (1, 1, 1),
            (7, 33, 17),
            (13, 384, 48),
            (25, 800, 70),
            (12, 1536, 32),
            // Past one block of rows (AMX: 32) and of the shared dimension (1536), a partial
            // panel, attention's shapes.
            (70, 1600, 40),
            (33, 32, 250),
            (250, 250, 32),
        ] {
            let a = noise(m * k, 1);
            let bm = noise(k * n, 2);
            let bias = noise(n, 3);
            let want = naive(m, k, n, &round(&a), &round(&bm), &bias);
            let mut bt = vec![0f32; n * k];
            for kk in 0..k {
                for j in 0..n {
                    bt[j * k + kk] = bm[kk * n + j];
                }
            }
            let panels = PanelsBf16::pack_nk(&bt, k, k, n);
            // A with a row stride past k, as the encoder's attention output is read.
            let lda = k + 3;
            let mut a_wide = vec![f32::NAN; m * lda];
            for i in 0..m {
                a_wide[i * lda..i * lda + k].copy_from_slice(&a[i * k..][..k]);
            }
            let mut c = vec![f32::NAN; m * n];
            kernel.gemm_bf16(
                m,
                &a_wide,
                lda,
                &panels,
                Some(&bias),
                &mut c,
                n,
                Epilogue::None,
            );
            let worst = c
                .iter()
                .zip(&want)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max);
            assert!(
                worst < 1e-4,
                "{}: {m}x{k}x{n}: off by {worst}",
                kernel.name()
            );
            let mut g = vec![0f32; m * n];
            kernel.gemm_bf16(
                m,
                &a_wide,
                lda,
                &panels,
                Some(&bias),
                &mut g,
                n,
                Epilogue::Gelu,
            );
            for i in 0..m * n {
                assert!((g[i] - gelu(c[i])).abs() < 1e-6);
            }

            let none = Epilogue::None;
            // Operands that arrive rounded (even rows, zero padded), and C written rounded too.
            let ka = kernel.bf16_width(k);
            let mut a16 = vec![0u16; m * ka];
            for i in 0..m {
                round_into(&a[i * k..][..k], &mut a16[i * ka..][..ka]);
            }
            let bm16: Vec<u16> = bm.iter().map(|&x| bf16(x)).collect();
            let bt16: Vec<u16> = bt.iter().map(|&x| bf16(x)).collect();
            let mut kn16 = PanelsBf16::default();
            kn16.pack_kn_rounded_into(&bm16, n, k, n);
            let mut nk16 = PanelsBf16::default();
            nk16.pack_nk_rounded_into(&bt16, k, k, n);
            for b16 in [&kn16, &nk16] {
                let mut c3 = vec![f32::NAN; m * n];
                let ne = n.next_multiple_of(2);
                let mut c16 = vec![0u16; m * ne];
                let out = (n % 2 == 0).then_some((&mut c16[..], ne));
                kernel.gemm_bf16_rounded(m, &a16, ka, b16, Some(&bias), &mut c3, n, none, out);
                assert_eq!(c3, c, "{m}x{k}x{n}: rounded operands");
                if n % 2 == 0 {
                    for i in 0..m {
                        for j in 0..n {
                            assert_eq!(c16[i * ne + j], bf16(c[i * n + j]));
                        }
                    }
                }
                if n % 2 == 0 {
                    // Only the rounded C wanted: the same values.
                    let mut only16 = vec![0u16; m * ne];
                    let out = Some((&mut only16[..], ne));
                    let b = Some(&bias[..]);
                    kernel.gemm_bf16_rounded(m, &a16, ka, b16, b, &mut [], n, none, out);
                    assert_eq!(only16, c16, "{m}x{k}x{n}: rounded C only");
                }
            }
        }
    }

    #[test]
    fn the_bf16_softmax_is_the_softmax_rounded() {
        for kernel in Kernel::available() {
            for len in [1, 7, 16, 33, 250] {
                let xs: Vec<f32> = noise(len, len as u64).iter().map(|x| x * 20.0).collect();
                let mut want = xs.clone();
                softmax(&mut want, 0.5);
                let mut work = xs.clone();
                let mut out = vec![u16::MAX; len + 3];
                kernel.softmax_bf16(&mut work, 0.5, &mut out);
                for (i, w) in want.iter().enumerate() {
                    let got = bf16_to_f32(out[i]);
                    assert!(
                        (got - w).abs() <= w.abs() / 128.0 + 1e-9,
                        "{len}: {got} vs {w}"
                    );
                }
                assert_eq!(&out[len..], &[0, 0, 0]);
            }
        }
    }
}
