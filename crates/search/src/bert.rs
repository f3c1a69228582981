//! The BERT encoder sentence-transformers models use (all-MiniLM-L6-v2 and its family), over
//! plain f32 buffers: embeddings, then self-attention and feed-forward layers, each with a
//! residual and a layer norm. Only what encoding sentences needs: absolute positions, no pooler.
//!
//! Sequences are packed, not padded: the token rows of every sequence of a batch are one matrix,
//! so each linear layer is one product over the real tokens only; attention runs per sequence and
//! head. Weights are packed once at load into the panels the kernel reads (`kernel::Panels`), the
//! query, key and value projections side by side so they are one product. Bias, GELU and the
//! residual are applied to each tile of a product as it is finished.

use std::path::Path;

use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;

use crate::kernel::{pack_kn, pack_nk, round_into, Buf, Epilogue, Kernel, Panels, PanelsBf16};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// The exact GELU (with erf), BERT's "gelu".
    Gelu,
    /// The tanh approximation.
    #[serde(alias = "gelu_new", alias = "gelu_pytorch_tanh")]
    GeluApproximate,
    Relu,
}

/// The fields of a model folder's `config.json` the encoder uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub hidden_act: Activation,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub model_type: Option<String>,
}

fn default_eps() -> f64 {
    1e-12
}

/// A linear layer: its weight packed for the kernel (in f32, or rounded to bf16 for a kernel
/// that multiplies in bf16), and its bias.
struct Linear {
    packed: Packed,
    inputs: usize,
    outputs: usize,
    bias: Vec<f32>,
}

enum Packed {
    F32(Buf),
    Bf16(PanelsBf16),
}

/// A product's input: f32 rows, and the same rounded to bf16 when a bf16 kernel has them.
type Rounded<'a> = Option<(&'a [u16], usize)>;

impl Linear {
    /// `c = a · weightᵀ + bias`, then the epilogue, over `m` rows. A bf16 layer reads `a16`
    /// (`a` rounded) when given and, given `c16`, writes C rounded there too.
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &self,
        k: Kernel,
        m: usize,
        (a, lda): (&[f32], usize),
        a16: Rounded,
        (c, ldc): (&mut [f32], usize),
        epilogue: Epilogue,
        c16: Option<(&mut [u16], usize)>,
    ) {
        match (&self.packed, a16) {
            (Packed::F32(buf), _) => {
                let panels = Panels {
                    k: self.inputs,
                    n: self.outputs,
                    data: buf.as_slice(),
                };
                k.gemm(m, a, lda, &panels, Some(&self.bias), c, ldc, epilogue)
            }
            (Packed::Bf16(p), Some((a16, lda16))) => {
                k.gemm_bf16_rounded(m, a16, lda16, p, Some(&self.bias), c, ldc, epilogue, c16)
            }
            (Packed::Bf16(p), None) => {
                assert!(c16.is_none(), "rounded output needs rounded input");
                k.gemm_bf16(m, a, lda, p, Some(&self.bias), c, ldc, epilogue)
            }
        }
    }
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

struct Layer {
    /// Query, key and value in one: `hidden` -> `3 * hidden`.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    intermediate: Linear,
    output: Linear,
    output_norm: Norm,
}

pub struct Bert {
    kernel: Kernel,
    hidden: usize,
    heads: usize,
    eps: f32,
    activation: Activation,
    max_positions: usize,
    words: Vec<f32>,
    positions: Vec<f32>,
    /// Token type 0's row: every token of a single sentence has type 0.
    type0: Vec<f32>,
    embeddings_norm: Norm,
    layers: Vec<Layer>,
}

/// One thread's working memory for `Bert::forward`, kept between calls.
#[derive(Default)]
pub struct Scratch {
    x: Buf,
    qkv: Buf,
    context: Buf,
    attended: Buf,
    inner: Buf,
    scores: Buf,
    keys: Buf,
    values: Buf,
    keys16: PanelsBf16,
    values16: PanelsBf16,
    /// Attention's probabilities in bf16, rows of an even length.
    probs16: Vec<u16>,
    /// `x`, `attended` and `inner` rounded to bf16 (rows of an even length) for a bf16 kernel.
    x16: Vec<u16>,
    attended16: Vec<u16>,
    inner16: Vec<u16>,
    /// `qkv` and `context` rounded to bf16, when a head's width is even.
    qkv16: Vec<u16>,
    context16: Vec<u16>,
}

/// Reads the tensors of a safetensors file by name, as f32.
struct Tensors<'a> {
    st: SafeTensors<'a>,
    prefix: String,
    kernel: Kernel,
}

impl Tensors<'_> {
    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
        let full = format!("{}{name}", self.prefix);
        let t = self
            .st
            .tensor(&full)
            .map_err(|e| format!("tensor {full}: {e}"))?;
        if t.shape() != shape {
            return Err(format!(
                "tensor {full} has shape {:?}, expected {shape:?}",
                t.shape()
            ));
        }
        let bytes = t.data();
        Ok(match t.dtype() {
            Dtype::F32 => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::BF16 => bytes
                .chunks_exact(2)
                .map(|b| f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16))
                .collect(),
            Dtype::F16 => bytes
                .chunks_exact(2)
                .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
            other => return Err(format!("tensor {full} is {other:?}; expected a float type")),
        })
    }

    fn linear(&self, name: &str, inputs: usize, outputs: usize) -> Result<Linear, String> {
        let weight = self.get(&format!("{name}.weight"), &[outputs, inputs])?;
        let bias = self.get(&format!("{name}.bias"), &[outputs])?;
        Ok(pack_linear(self.kernel, &weight, bias, inputs, outputs))
    }

    fn norm(&self, name: &str, n: usize) -> Result<Norm, String> {
        Ok(Norm {
            gamma: self.get(&format!("{name}.weight"), &[n])?,
            beta: self.get(&format!("{name}.bias"), &[n])?,
        })
    }
}

/// `weight` is `outputs`×`inputs` (as PyTorch saves it): `y = x · weightᵀ + bias`.
fn pack_linear(
    kernel: Kernel,
    weight: &[f32],
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
) -> Linear {
    let packed = if kernel.multiplies_in_bf16() {
        Packed::Bf16(PanelsBf16::pack_nk(weight, inputs, inputs, outputs))
    } else {
        let mut buf = Buf::default();
        pack_nk(&mut buf, weight, inputs, inputs, outputs);
        Packed::F32(buf)
    };
    Linear {
        packed,
        inputs,
        outputs,
        bias,
    }
}

fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    match exp {
        0 => {
            let v = man as f32 * (1.0 / (1u32 << 24) as f32);
            if sign != 0 {
                -v
            } else {
                v
            }
        }
        31 => f32::from_bits(sign | 0x7f80_0000 | (man << 13)),
        _ => f32::from_bits(sign | ((exp + 112) << 23) | (man << 13)),
    }
}

impl Bert {
    /// Loads the weights from a safetensors file, named as Hugging Face saves them (with or
    /// without a `bert.` prefix), and packs them for `kernel`.
    pub fn load(weights: &Path, c: &Config, kernel: Kernel) -> Result<Bert, String> {
        let bytes = std::fs::read(weights).map_err(|e| format!("{}: {e}", weights.display()))?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| format!("safetensors: {e}"))?;
        let names = st.names();
        let prefix = ["bert", c.model_type.as_deref().unwrap_or("bert")]
            .into_iter()
            .find(|p| {
                let want = format!("{p}.embeddings.word_embeddings.weight");
                names.iter().any(|n| **n == want)
            })
            .map(|p| format!("{p}."))
            .unwrap_or_default();
        let t = Tensors { st, prefix, kernel };
        let h = c.hidden_size;
        if c.num_attention_heads == 0 || !h.is_multiple_of(c.num_attention_heads) {
            return Err(format!(
                "hidden size {h} is not a multiple of {} heads",
                c.num_attention_heads
            ));
        }
        let e = "embeddings";
        let types = t.get(
            &format!("{e}.token_type_embeddings.weight"),
            &[c.type_vocab_size, h],
        )?;
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let l = format!("encoder.layer.{i}");
            let mut weight = Vec::with_capacity(3 * h * h);
            let mut bias = Vec::with_capacity(3 * h);
            for part in ["query", "key", "value"] {
                let name = format!("{l}.attention.self.{part}");
                weight.extend(t.get(&format!("{name}.weight"), &[h, h])?);
                bias.extend(t.get(&format!("{name}.bias"), &[h])?);
            }
            layers.push(Layer {
                qkv: pack_linear(kernel, &weight, bias, h, 3 * h),
                attention_out: t.linear(&format!("{l}.attention.output.dense"), h, h)?,
                attention_norm: t.norm(&format!("{l}.attention.output.LayerNorm"), h)?,
                intermediate: t.linear(
                    &format!("{l}.intermediate.dense"),
                    h,
                    c.intermediate_size,
                )?,
                output: t.linear(&format!("{l}.output.dense"), c.intermediate_size, h)?,
                output_norm: t.norm(&format!("{l}.output.LayerNorm"), h)?,
            });
        }
        Ok(Bert {
            kernel,
            hidden: h,
            heads: c.num_attention_heads,
            eps: c.layer_norm_eps as f32,
            activation: c.hidden_act,
            max_positions: c.max_position_embeddings,
            words: t.get(&format!("{e}.word_embeddings.weight"), &[c.vocab_size, h])?,
            positions: t.get(
                &format!("{e}.position_embeddings.weight"),
                &[c.max_position_embeddings, h],
            )?,
            type0: types[..h].to_vec(),
            embeddings_norm: t.norm(&format!("{e}.LayerNorm"), h)?,
            layers,
        })
    }

    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// Token vectors for sequences of token ids, packed one after another: row `t` of the
    /// `(total tokens)`×`hidden` result is the `t`-th token of the concatenation. Sequences must
    /// not be longer than the model's positions, nor hold ids past its vocabulary.
    pub fn forward<'s>(&self, seqs: &[&[u32]], s: &'s mut Scratch) -> &'s [f32] {
        let k = self.kernel;
        let h = self.hidden;
        let tokens: usize = seqs.iter().map(|q| q.len()).sum();
        let bf16 = k.multiplies_in_bf16();
        let h16 = k.bf16_width(h);
        s.x.resize(tokens * h);
        s.x16.resize(if bf16 { tokens * h16 } else { 0 }, 0);
        let x = s.x.as_mut_slice();
        let mut row = 0;
        for seq in seqs {
            assert!(seq.len() <= self.max_positions, "sequence too long");
            for (pos, &id) in seq.iter().enumerate() {
                let out = &mut x[row * h..][..h];
                let word = &self.words[id as usize * h..][..h];
                let position = &self.positions[pos * h..][..h];
                for j in 0..h {
                    out[j] = word[j] + position[j] + self.type0[j];
                }
                let n = &self.embeddings_norm;
                k.layer_norm(out, &n.gamma, &n.beta, self.eps);
                if bf16 {
                    round_into(out, &mut s.x16[row * h16..][..h16]);
                }
                row += 1;
            }
        }
        for layer in &self.layers {
            self.layer(layer, seqs, tokens, s);
        }
        s.x.as_slice()
    }

    fn layer(&self, l: &Layer, seqs: &[&[u32]], tokens: usize, s: &mut Scratch) {
        let k = self.kernel;
        let h = self.hidden;
        let h3 = 3 * h;
        let inter = l.intermediate.outputs;
        let bf16 = k.multiplies_in_bf16();
        let head = h / self.heads;
        // Attention reads its operands rounded, straight from the projection's output, when a
        // head's slice is an even number of values (pairs never straddle two heads).
        let rounded = bf16 && head.is_multiple_of(2);
        // A product whose next reader takes it rounded is only written rounded: its f32
        // buffer stays empty.
        s.qkv.resize(if rounded { 0 } else { tokens * h3 });
        s.context.resize(if rounded { 0 } else { tokens * h });
        s.attended.resize(tokens * h);
        s.inner.resize(if bf16 { 0 } else { tokens * inter });
        let (h16, inter16) = (k.bf16_width(h), k.bf16_width(inter));
        s.attended16.resize(if bf16 { tokens * h16 } else { 0 }, 0);
        s.inner16.resize(if bf16 { tokens * inter16 } else { 0 }, 0);
        let x = s.x.as_mut_slice();
        let qkv = s.qkv.as_mut_slice();
        let x16 = bf16.then_some((&s.x16[..], h16));
        s.qkv16.resize(if rounded { tokens * h3 } else { 0 }, 0);
        // The attention output's last row is read up to `h16`.
        let slack = h16 - h;
        s.context16
            .resize(if rounded { tokens * h + slack } else { 0 }, 0);
        let qkv16 = rounded.then_some((&mut s.qkv16[..], h3));
        l.qkv
            .apply(k, tokens, (x, h), x16, (qkv, h3), Epilogue::None, qkv16);

        // Attention, per sequence and head (in bf16 where the linear layers are).
        const NONE: Epilogue = Epilogue::None;
        let context = s.context.as_mut_slice();
        let scale = 1.0 / (head as f32).sqrt();
        let mut t0 = 0;
        for seq in seqs {
            let len = seq.len();
            if len == 0 {
                continue;
            }
            s.scores.resize(len * len);
            let scores = s.scores.as_mut_slice();
            for hd in 0..self.heads {
                let base = t0 * h3 + hd * head;
                if rounded {
                    let qkv16 = &s.qkv16;
                    s.keys16
                        .pack_nk_rounded_into(&qkv16[base + h..], h3, head, len);
                    let (q, keys) = (&qkv16[base..], &s.keys16);
                    k.gemm_bf16_rounded(len, q, h3, keys, None, scores, len, NONE, None);
                    let even = k.bf16_width(len);
                    s.probs16.resize(len * even, 0);
                    for (r, out) in scores
                        .chunks_exact_mut(len)
                        .zip(s.probs16.chunks_exact_mut(even))
                    {
                        k.softmax_bf16(r, scale, out);
                    }
                    s.values16
                        .pack_kn_rounded_into(&qkv16[base + 2 * h..], h3, len, head);
                    let ctx16 = Some((&mut s.context16[t0 * h + hd * head..], h));
                    let (p, values) = (&s.probs16, &s.values16);
                    k.gemm_bf16_rounded(len, p, even, values, None, &mut [], h, NONE, ctx16);
                    continue;
                }
                let ctx = &mut context[t0 * h + hd * head..];
                pack_nk(&mut s.keys, &qkv[base + h..], h3, head, len);
                let keys = Panels {
                    k: head,
                    n: len,
                    data: s.keys.as_slice(),
                };
                k.gemm(len, &qkv[base..], h3, &keys, None, scores, len, NONE);
                for r in scores.chunks_exact_mut(len) {
                    k.softmax(r, scale);
                }
                pack_kn(&mut s.values, &qkv[base + 2 * h..], h3, len, head);
                let values = Panels {
                    k: len,
                    n: head,
                    data: s.values.as_slice(),
                };
                k.gemm(len, scores, len, &values, None, ctx, h, NONE);
            }
            t0 += len;
        }

        let attended = s.attended.as_mut_slice();
        let residual = Epilogue::Add(x, h);
        let context16 = rounded.then_some((&s.context16[..], h));
        l.attention_out.apply(
            k,
            tokens,
            (context, h),
            context16,
            (attended, h),
            residual,
            None,
        );
        let n = &l.attention_norm;
        for (i, r) in attended.chunks_exact_mut(h).enumerate() {
            k.layer_norm(r, &n.gamma, &n.beta, self.eps);
            if bf16 {
                round_into(r, &mut s.attended16[i * h16..][..h16]);
            }
        }
        let inner = s.inner.as_mut_slice();
        let act = match self.activation {
            Activation::Gelu => Epilogue::Gelu,
            Activation::GeluApproximate => Epilogue::GeluTanh,
            Activation::Relu => Epilogue::Relu,
        };
        let attended16 = bf16.then_some((&s.attended16[..], h16));
        let inner16 = bf16.then_some((&mut s.inner16[..], inter16));
        l.intermediate.apply(
            k,
            tokens,
            (attended, h),
            attended16,
            (inner, inter),
            act,
            inner16,
        );
        let inner16 = bf16.then_some((&s.inner16[..], inter16));
        let residual = Epilogue::Add(attended, h);
        l.output
            .apply(k, tokens, (inner, inter), inner16, (x, h), residual, None);
        let n = &l.output_norm;
        for (i, r) in x.chunks_exact_mut(h).enumerate() {
            k.layer_norm(r, &n.gamma, &n.beta, self.eps);
            if bf16 {
                round_into(r, &mut s.x16[i * h16..][..h16]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::f16_to_f32;

    #[test]
    fn half_floats_widen_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert!(f16_to_f32(0x7c00).is_infinite());
    }
}
