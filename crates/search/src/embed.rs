//! Sentence embeddings on the CPU: a BERT-family sentence-transformers model (all-MiniLM-L6-v2 by
//! default) run with candle, tokenised with `tokenizers`. Pooling, normalisation, sequence length
//! and query prefix come from the model folder's own sentence-transformers config files.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use crate::bert::{Bert, Config};
use tokenizers::{Tokenizer, TruncationParams};

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("model folder {0}: {1}")]
    Model(PathBuf, String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("model: {0}")]
    Candle(#[from] candle_core::Error),
}

/// Tokens per forward pass. Small passes keep the activations in cache: on 2 cores, 512 gave
/// 7.4-7.8 abstracts/s, 2048 7.3, 8192 6.4 (`paperboy-bench embed`, see BENCHMARKS.md).
const BATCH_TOKENS: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    Mean,
    Cls,
}

pub struct Embedder {
    model: Bert,
    tokenizer: Tokenizer,
    pooling: Pooling,
    normalize: bool,
    max_tokens: usize,
    query_prefix: String,
    dim: usize,
    /// Identifies the model: folder name plus a digest of its weights' size and config, so stored
    /// vectors are recomputed when the model changes.
    name: String,
}

fn read_json(dir: &Path, file: &str) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join(file)).ok()?;
    serde_json::from_str(&text).ok()
}

impl Embedder {
    /// Loads a sentence-transformers folder: `config.json`, `model.safetensors`, `tokenizer.json`,
    /// and, when present, `1_Pooling/config.json`, `sentence_bert_config.json` (max_seq_length)
    /// and `config_sentence_transformers.json` (prompts: the query prefix).
    pub fn load(dir: &Path) -> Result<Embedder, EmbedError> {
        let err = |m: String| EmbedError::Model(dir.to_owned(), m);
        let config_text = std::fs::read_to_string(dir.join("config.json"))
            .map_err(|e| err(format!("config.json: {e}")))?;
        let config: Config =
            serde_json::from_str(&config_text).map_err(|e| err(format!("config.json: {e}")))?;
        let weights = dir.join("model.safetensors");
        if !weights.exists() {
            return Err(err("model.safetensors is missing".into()));
        }
        // SAFETY: the weights file is memory-mapped read-only; paperboy never writes it while running.
        let vb =
            unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &Device::Cpu)? };
        let model = Bert::load(vb, &config)?;

        let pooling = match read_json(dir, "1_Pooling/config.json") {
            Some(p) if p["pooling_mode_cls_token"].as_bool() == Some(true) => Pooling::Cls,
            _ => Pooling::Mean,
        };
        let modules = read_json(dir, "modules.json");
        let normalize = match &modules {
            Some(m) => m.as_array().is_some_and(|a| {
                a.iter()
                    .any(|x| x["type"].as_str().is_some_and(|t| t.ends_with("Normalize")))
            }),
            None => true,
        };
        // The tokenizer.json of many models truncates at 128; sentence-transformers uses max_seq_length.
        let max_tokens = read_json(dir, "sentence_bert_config.json")
            .and_then(|c| c["max_seq_length"].as_u64())
            .map(|n| n as usize)
            .unwrap_or(256)
            .min(config.max_position_embeddings);
        let query_prefix = read_json(dir, "config_sentence_transformers.json")
            .and_then(|c| c["prompts"]["query"].as_str().map(str::to_owned))
            .unwrap_or_default();

        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..Default::default()
            }))
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        tokenizer.with_padding(None);

        let weights_len = std::fs::metadata(&weights).map(|m| m.len()).unwrap_or(0);
        let folder = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = format!(
            "{folder}:{}:{:x}",
            config.hidden_size,
            weights_len ^ fnv(config_text.as_bytes())
        );
        Ok(Embedder {
            model,
            tokenizer,
            pooling,
            normalize,
            max_tokens,
            query_prefix,
            dim: config.hidden_size,
            name,
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Tokens the model would see for these texts (after truncation).
    pub fn count_tokens(&self, texts: &[&str]) -> Result<usize, EmbedError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        Ok(encodings.iter().map(|e| e.get_ids().len()).sum())
    }

    /// Embeds a search query (with the model's query prefix, if it has one).
    pub fn embed_query(&self, query: &str) -> Result<Vec<f32>, EmbedError> {
        let text = format!("{}{query}", self.query_prefix);
        Ok(self.embed(&[text.as_str()])?.pop().unwrap_or_default())
    }

    /// Embeds documents. Texts are grouped by length so a batch pads little.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encodings[i].get_ids().len());
        let mut out = vec![Vec::new(); texts.len()];
        let mut start = 0;
        while start < order.len() {
            let longest = encodings[order[start]].get_ids().len().max(1);
            let mut end = start + 1;
            while end < order.len() {
                let len = encodings[order[end]].get_ids().len();
                if (end - start + 1) * len > BATCH_TOKENS || len > longest * 5 / 4 + 8 {
                    break;
                }
                end += 1;
            }
            let batch: Vec<&tokenizers::Encoding> =
                order[start..end].iter().map(|&i| &encodings[i]).collect();
            let vectors = self.forward(&batch)?;
            for (k, v) in vectors.into_iter().enumerate() {
                out[order[start + k]] = v;
            }
            start = end;
        }
        Ok(out)
    }

    fn forward(&self, batch: &[&tokenizers::Encoding]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let len = batch
            .iter()
            .map(|e| e.get_ids().len())
            .max()
            .unwrap_or(1)
            .max(1);
        let n = batch.len();
        let mut ids = vec![0u32; n * len];
        let mut mask = vec![0u32; n * len];
        for (row, e) in batch.iter().enumerate() {
            for (col, &id) in e.get_ids().iter().enumerate() {
                ids[row * len + col] = id;
                mask[row * len + col] = 1;
            }
        }
        let device = Device::Cpu;
        let ids = Tensor::from_vec(ids, (n, len), &device)?;
        let mask = Tensor::from_vec(mask, (n, len), &device)?;
        let hidden = self.model.forward(&ids, &mask)?; // (n, len, dim)
        let pooled = match self.pooling {
            Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
            Pooling::Mean => {
                let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (n, len, 1)
                let summed = hidden.broadcast_mul(&m)?.sum(1)?; // (n, dim)
                let counts = m.sum(1)?; // (n, 1)
                summed.broadcast_div(&counts)?
            }
        };
        let mut rows: Vec<Vec<f32>> = pooled.to_vec2()?;
        if self.normalize {
            for r in &mut rows {
                normalize(r);
            }
        }
        Ok(rows)
    }
}

pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The model folder: `PAPERBOY_TEST_MODEL_DIR`, else `target/test-model/all-MiniLM-L6-v2`
    /// (which `.ci/run` fills with `paperboy model install`).
    pub(crate) fn model_dir() -> Option<PathBuf> {
        let dir = std::env::var_os("PAPERBOY_TEST_MODEL_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../target/test-model/all-MiniLM-L6-v2")
            });
        if dir.join("model.safetensors").exists() {
            return Some(dir);
        }
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must provide the model at {}",
            dir.display()
        );
        eprintln!(
            "skipped: no model at {} (run `paperboy model install --dir {}`)",
            dir.display(),
            dir.display()
        );
        None
    }

    #[test]
    fn matches_reference_vectors() {
        let Some(dir) = model_dir() else { return };
        let reference = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/fixtures/minilm-reference.json");
        let Ok(text) = std::fs::read_to_string(&reference) else {
            eprintln!("skipped: {} is absent", reference.display());
            return;
        };
        let r: serde_json::Value = serde_json::from_str(&text).unwrap();
        let sentences: Vec<&str> = r["sentences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let embedder = Embedder::load(&dir).unwrap();
        assert_eq!(embedder.max_tokens(), 256);
        let got = embedder.embed(&sentences).unwrap();
        for (i, want) in r["vectors"].as_array().unwrap().iter().enumerate() {
            let tokens = embedder
                .tokenizer
                .encode(sentences[i], true)
                .unwrap()
                .get_ids()
                .len();
            assert_eq!(
                tokens as u64,
                r["num_tokens"][i].as_u64().unwrap(),
                "token count of text {i}"
            );
            let worst = want
                .as_array()
                .unwrap()
                .iter()
                .zip(&got[i])
                .map(|(w, g)| (w.as_f64().unwrap() as f32 - g).abs())
                .fold(0f32, f32::max);
            assert!(worst < 1e-5, "text {i}: max abs difference {worst}");
        }
        // One text alone gives the same vector as in a batch (no padding leaks into the pooling).
        let alone = embedder.embed(&sentences[..1]).unwrap();
        let diff = alone[0]
            .iter()
            .zip(&got[0])
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(diff < 1e-5);
    }
}
