//! The BERT encoder sentence-transformers models use (all-MiniLM-L6-v2 and its family), on
//! candle's tensors: embeddings, then self-attention and feed-forward layers, each with a residual
//! and a layer norm. Only what encoding sentences needs: absolute positions, no pooler, no heads.
//! Ours rather than candle-transformers' so the build does not compile a hundred other models.

use candle_core::{DType, Module, Result, Tensor, D};
use candle_nn::{embedding, layer_norm, linear, Embedding, LayerNorm, Linear, VarBuilder};
use serde::Deserialize;

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

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

pub struct Bert {
    words: Embedding,
    positions: Embedding,
    types: Embedding,
    embeddings_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    activation: Activation,
}

impl Layer {
    fn load(vb: VarBuilder, c: &Config) -> Result<Layer> {
        let h = c.hidden_size;
        let eps = c.layer_norm_eps;
        Ok(Layer {
            query: linear(h, h, vb.pp("attention.self.query"))?,
            key: linear(h, h, vb.pp("attention.self.key"))?,
            value: linear(h, h, vb.pp("attention.self.value"))?,
            attention_out: linear(h, h, vb.pp("attention.output.dense"))?,
            attention_norm: layer_norm(h, eps, vb.pp("attention.output.LayerNorm"))?,
            intermediate: linear(h, c.intermediate_size, vb.pp("intermediate.dense"))?,
            output: linear(c.intermediate_size, h, vb.pp("output.dense"))?,
            output_norm: layer_norm(h, eps, vb.pp("output.LayerNorm"))?,
        })
    }
}

impl Bert {
    /// Loads the weights, named as Hugging Face saves them (with or without a `bert.` prefix).
    pub fn load(vb: VarBuilder, c: &Config) -> Result<Bert> {
        let prefixed = ["bert", c.model_type.as_deref().unwrap_or("bert")]
            .into_iter()
            .find(|p| vb.contains_tensor(&format!("{p}.embeddings.word_embeddings.weight")));
        let vb = match prefixed {
            Some(p) => vb.pp(p),
            None => vb,
        };
        let e = vb.pp("embeddings");
        let h = c.hidden_size;
        Ok(Bert {
            words: embedding(c.vocab_size, h, e.pp("word_embeddings"))?,
            positions: embedding(c.max_position_embeddings, h, e.pp("position_embeddings"))?,
            types: embedding(c.type_vocab_size, h, e.pp("token_type_embeddings"))?,
            embeddings_norm: layer_norm(h, c.layer_norm_eps, e.pp("LayerNorm"))?,
            layers: (0..c.num_hidden_layers)
                .map(|i| Layer::load(vb.pp(format!("encoder.layer.{i}")), c))
                .collect::<Result<_>>()?,
            heads: c.num_attention_heads,
            activation: c.hidden_act,
        })
    }

    /// Token vectors `(batch, len, hidden)` for token ids `(batch, len)`; `mask` is 1 for real
    /// tokens and 0 for padding (which no token attends to).
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (n, len) = ids.dims2()?;
        let positions = Tensor::arange(0u32, len as u32, ids.device())?;
        let x = self
            .words
            .forward(ids)?
            .add(&self.types.forward(&ids.zeros_like()?)?)?
            .broadcast_add(&self.positions.forward(&positions)?)?;
        let mut x = self.embeddings_norm.forward(&x)?;
        // Padding gets the most negative score before the softmax, as Hugging Face's BERT does.
        let mask = mask.to_dtype(DType::F32)?.reshape((n, 1, 1, len))?;
        let mask = ((mask.ones_like()? - &mask)? * f64::from(f32::MIN))?;
        for layer in &self.layers {
            x = self.layer(layer, &x, &mask)?;
        }
        Ok(x)
    }

    fn layer(&self, l: &Layer, x: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (n, len, hidden) = x.dims3()?;
        let head = hidden / self.heads;
        let split = |t: Tensor| -> Result<Tensor> {
            t.reshape((n, len, self.heads, head))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = split(l.query.forward(x)?)?;
        let k = split(l.key.forward(x)?)?;
        let v = split(l.value.forward(x)?)?;
        let scores = (q.matmul(&k.t()?)? / (head as f64).sqrt())?.broadcast_add(mask)?;
        let probs = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let context = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((n, len, hidden))?;
        let attended = l
            .attention_norm
            .forward(&l.attention_out.forward(&context)?.add(x)?)?;
        let inner = l.intermediate.forward(&attended)?;
        let inner = match self.activation {
            Activation::Gelu => inner.gelu_erf()?,
            Activation::GeluApproximate => inner.gelu()?,
            Activation::Relu => inner.relu()?,
        };
        l.output_norm
            .forward(&l.output.forward(&inner)?.add(&attended)?)
    }
}
