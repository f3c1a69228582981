//! The `amx` kernel's products: the same bf16 operands as `avx512` (A rounded row by row, B in
//! `PanelsBf16`), multiplied by the CPU's tile unit. One `tdpbf16ps` multiplies a 16×32 tile of
//! A by a 32×16 tile of B into a 16×16 tile of f32 sums: 8,192 multiply-adds, 16 times what one
//! AVX-512 `vdpbf16ps` does. A micro-kernel call keeps a 32×32 block of C in four tile registers
//! (`tmm0`-`tmm3`), loads two tiles of A (`tmm4`, `tmm5`) and two of B (`tmm6`, `tmm7`) per 32
//! of the shared dimension, and issues four products.
//!
//! Linux hands out the tile registers' state (8 KiB per thread) only to a process that asks
//! (`arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`, Linux 5.16 and later); `permitted`
//! asks once. Each thread loads a tile configuration (`ldtilecfg`) before its first product and
//! again only when a call's row count needs other tile shapes (the last rows of a product).
//! Rust has no stable AMX intrinsics, so the instructions are written with `asm!`; the compiler
//! never uses the tile registers itself, so they hold their values between the statements.

use super::{wide, Epilogue};
use std::arch::asm;
use std::cell::Cell;

/// The shared dimension one tile of A covers (bf16 values per tile row).
pub const DEPTH: usize = 32;
/// Rows of C per micro-kernel call (two tiles of 16).
const MR_AMX: usize = 32;
/// Columns of C per micro-kernel call (two tiles of 16): a panel of `PanelsBf16`.
const NR_AMX: usize = super::NR_BF16;
/// Rows of A per block: every panel of B passes over a block (128×1536 bf16 is 384 KiB, in L2).
const MC_AMX: usize = 128;

/// A's and B's shapes for `gemm`, checked by its caller.
pub struct Shape {
    pub m: usize,
    pub n: usize,
    /// The shared dimension, a whole number of tiles (`DEPTH`) deep.
    pub kt: usize,
    pub lda: usize,
    /// B's pairs per panel (at least `kt / 2`).
    pub stride: usize,
}

/// `C[m×n] = A · B + bias`, then the epilogue, every product on the tile unit, each finished row
/// of a block stored as f32 in C (where given) and, with `rounded_c`, rounded to bf16; the
/// whole shared dimension in one pass, so a bias starts the sums in the tiles.
///
/// # Safety
/// `a` holds `m` rows of `kt` bf16 `lda` apart (finite: past the product's own depth they meet
/// B's zero padding); `b` holds `n.div_ceil(32)` panels of `stride`×32 pairs; `c` (row stride
/// `ldc`), `bias`, the residual of `Epilogue::Add` and `rounded_c` hold `m`×`n`; the CPU has
/// AMX-BF16 and AVX-512 F, BW, VL and BF16, and `permitted` returned true.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm(
    s: Shape,
    a: &[u16],
    b: &[u32],
    bias: Option<&[f32]>,
    mut c: Option<(&mut [f32], usize)>,
    epilogue: Epilogue,
    mut rounded_c: Option<(&mut [u16], usize)>,
) {
    #[repr(C, align(64))]
    struct Sums([f32; MR_AMX * NR_AMX]);
    let mut sums = Sums([0.0; MR_AMX * NR_AMX]);
    let panels = s.n.div_ceil(NR_AMX);
    for i0 in (0..s.m).step_by(MC_AMX) {
        let i1 = s.m.min(i0 + MC_AMX);
        for p in 0..panels {
            let j0 = p * NR_AMX;
            let cols = NR_AMX.min(s.n - j0);
            let mut bias_row = [0f32; NR_AMX];
            let start = bias.map(|bias| {
                bias_row[..cols].copy_from_slice(&bias[j0..j0 + cols]);
                bias_row.as_ptr()
            });
            let bp = b.as_ptr().add(p * s.stride * NR_AMX);
            for r0 in (i0..i1).step_by(MR_AMX) {
                let rows = MR_AMX.min(i1 - r0);
                let ap = a.as_ptr().add(r0 * s.lda);
                tile_rows(rows, ap, s.lda, bp, s.kt, sums.0.as_mut_ptr(), start);
                let res = match epilogue {
                    Epilogue::Add(res, ldr) => (res.as_ptr().add(r0 * ldr + j0), ldr),
                    _ => (std::ptr::null(), 0),
                };
                let out = match c.as_mut() {
                    Some((c, ldc)) => (c.as_mut_ptr().add(r0 * *ldc + j0), *ldc),
                    None => (std::ptr::null_mut(), 0),
                };
                let out16 = match rounded_c.as_mut() {
                    Some((c16, ld)) => (c16.as_mut_ptr().add(r0 * *ld + j0), *ld),
                    None => (std::ptr::null_mut(), 0),
                };
                let sums = sums.0.as_ptr();
                wide::finish_block(sums, rows, cols, &epilogue, res, out, out16);
            }
        }
    }
}

/// Whether this process may use the tile registers: asks Linux once.
pub fn permitted() -> bool {
    static PERMITTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PERMITTED.get_or_init(|| {
        #[cfg(target_os = "linux")]
        {
            const SYS_ARCH_PRCTL: i64 = 158;
            const ARCH_REQ_XCOMP_PERM: i64 = 0x1023;
            const XFEATURE_XTILEDATA: i64 = 18;
            let ret: i64;
            // SAFETY: a system call with integer arguments; it touches no memory of ours.
            unsafe {
                asm!(
                    "syscall",
                    inlateout("rax") SYS_ARCH_PRCTL => ret,
                    in("rdi") ARCH_REQ_XCOMP_PERM,
                    in("rsi") XFEATURE_XTILEDATA,
                    lateout("rcx") _,
                    lateout("r11") _,
                    options(nostack),
                );
            }
            ret == 0
        }
        #[cfg(not(target_os = "linux"))]
        {
            false
        }
    })
}

thread_local! {
    /// The tile shapes this thread's configuration holds: rows of the first and of the second
    /// row of tiles, with bit 16 set; 0 while none is loaded.
    static SHAPE: Cell<u32> = const { Cell::new(0) };
}

/// The 64-byte operand of `ldtilecfg` (palette 1).
#[repr(C, align(64))]
struct TileConfig([u8; 64]);

/// Makes this thread's tiles `top` rows (`tmm0`, `tmm1`, `tmm4`) and `bottom` rows (`tmm2`,
/// `tmm3`, `tmm5`, unused when 0); B's tiles (`tmm6`, `tmm7`) are 16 rows of 16 pairs.
///
/// # Safety
/// The CPU has AMX and `permitted` returned true.
#[inline]
unsafe fn configure(top: usize, bottom: usize) {
    let key = (top as u32) << 8 | bottom as u32 | 1 << 16;
    if SHAPE.get() == key {
        return;
    }
    let mut cfg = TileConfig([0; 64]);
    cfg.0[0] = 1;
    let rows = [top, top, bottom, bottom, top, bottom, 16, 16];
    for (t, &r) in rows.iter().enumerate() {
        if r > 0 {
            cfg.0[16 + 2 * t] = 64; // bytes per row, little-endian u16
            cfg.0[48 + t] = r as u8;
        }
    }
    asm!("ldtilecfg [{}]", in(reg) cfg.0.as_ptr(), options(nostack, readonly));
    SHAPE.set(key);
}

/// One block of up to 32 rows × 32 columns of sums: `A · B` over `kc` of the shared dimension
/// (all of it: `gemm` makes one pass), starting from zeros or from a bias row, stored in `c` as
/// rows of 32 floats.
///
/// # Safety
/// `a` has `rows` (1..=32) rows of `kc` readable bf16 `lda` apart, `kc` a multiple of `DEPTH`;
/// `b` holds `kc / 2`×32 pairs (rows of 128 bytes); `c` holds `rows`×32 writable floats; a bias
/// pointer holds 32 floats; the CPU has AMX-BF16 and `permitted` returned true.
#[inline]
unsafe fn tile_rows(
    rows: usize,
    a: *const u16,
    lda: usize,
    b: *const u32,
    kc: usize,
    c: *mut f32,
    bias: Option<*const f32>,
) {
    debug_assert!((1..=MR_AMX).contains(&rows) && kc.is_multiple_of(DEPTH));
    let top = rows.min(16);
    let bottom = rows - top;
    configure(top, bottom);
    if bottom > 0 {
        block::<true>(a, lda, b, kc, c, bias)
    } else {
        block::<false>(a, lda, b, kc, c, bias)
    }
}

/// `tile_rows` with both rows of tiles (`TWO`) or the top one only.
#[inline(always)]
unsafe fn block<const TWO: bool>(
    a: *const u16,
    lda: usize,
    b: *const u32,
    kc: usize,
    c: *mut f32,
    bias: Option<*const f32>,
) {
    let (sa, sc) = (lda * 2, NR_AMX * 4);
    let c1 = c.add(16 * NR_AMX);
    match bias {
        None => {
            asm!("tilezero tmm0", "tilezero tmm1", options(nostack, nomem));
            if TWO {
                asm!("tilezero tmm2", "tilezero tmm3", options(nostack, nomem));
            }
        }
        Some(p) => {
            // A row stride of 0: every row of the tile is the bias.
            asm!(
                "tileloadd tmm0, [{p} + {z}*1]",
                "tileloadd tmm1, [{q} + {z}*1]",
                p = in(reg) p,
                q = in(reg) p.add(16),
                z = in(reg) 0usize,
                options(nostack, readonly),
            );
            if TWO {
                asm!(
                    "tileloadd tmm2, [{p} + {z}*1]",
                    "tileloadd tmm3, [{q} + {z}*1]",
                    p = in(reg) p,
                    q = in(reg) p.add(16),
                    z = in(reg) 0usize,
                    options(nostack, readonly),
                );
            }
        }
    }
    let a1 = a.add(16 * lda);
    for q in (0..kc).step_by(DEPTH) {
        // B's rows for this step: `DEPTH / 2` pairs of 32 columns, 128 bytes each; the left 16
        // columns are the first 64 bytes of each.
        let bq = b.add(q / 2 * 32);
        if TWO {
            asm!(
                "tileloadd tmm4, [{a0} + {sa}*1]",
                "tileloadd tmm6, [{b0} + {sb}*1]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tileloadd tmm7, [{b1} + {sb}*1]",
                "tdpbf16ps tmm1, tmm4, tmm7",
                "tileloadd tmm5, [{a1} + {sa}*1]",
                "tdpbf16ps tmm2, tmm5, tmm6",
                "tdpbf16ps tmm3, tmm5, tmm7",
                a0 = in(reg) a.add(q),
                a1 = in(reg) a1.add(q),
                b0 = in(reg) bq,
                b1 = in(reg) bq.add(16),
                sa = in(reg) sa,
                sb = in(reg) 128usize,
                options(nostack, readonly),
            );
        } else {
            asm!(
                "tileloadd tmm4, [{a0} + {sa}*1]",
                "tileloadd tmm6, [{b0} + {sb}*1]",
                "tileloadd tmm7, [{b1} + {sb}*1]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tdpbf16ps tmm1, tmm4, tmm7",
                a0 = in(reg) a.add(q),
                b0 = in(reg) bq,
                b1 = in(reg) bq.add(16),
                sa = in(reg) sa,
                sb = in(reg) 128usize,
                options(nostack, readonly),
            );
        }
    }
    asm!(
        "tilestored [{p} + {s}*1], tmm0",
        "tilestored [{q} + {s}*1], tmm1",
        p = in(reg) c,
        q = in(reg) c.add(16),
        s = in(reg) sc,
        options(nostack),
    );
    if TWO {
        asm!(
            "tilestored [{p} + {s}*1], tmm2",
            "tilestored [{q} + {s}*1], tmm3",
            p = in(reg) c1,
            q = in(reg) c1.add(16),
            s = in(reg) sc,
            options(nostack),
        );
    }
}
