//! Sentence embeddings on the CPU: a BERT-family sentence-transformers model (all-MiniLM-L6-v2 by
//! default) run by our own encoder (`bert`, on the kernels of `kernel`), tokenised with
//! `tokenizers`. Pooling, normalisation, sequence length and query prefix come from the model
//! folder's own sentence-transformers config files.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::bert::{Bert, Config, Scratch};
use crate::kernel::{Kernel, KernelChoice, KernelError};
use tokenizers::{Tokenizer, TruncationParams};

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("model folder {0}: {1}")]
    Model(PathBuf, String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

/// Tokens per forward pass (a "chunk": whole texts, packed without padding). One thread runs a
/// chunk from start to end; the threads take chunks in turn.
const CHUNK_TOKENS: usize = 1024;

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
    threads: usize,
    /// Working memory of the calling thread's forward passes, kept for the next call.
    scratch: Mutex<Vec<Scratch>>,
    /// Identifies the model: folder name plus a digest of its weights' size and config, so stored
    /// vectors are recomputed when the model changes.
    name: String,
}

fn read_json(dir: &Path, file: &str) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join(file)).ok()?;
    serde_json::from_str(&text).ok()
}

impl Embedder {
    /// Loads a model folder with the fastest kernel this CPU can run.
    pub fn load(dir: &Path) -> Result<Embedder, EmbedError> {
        Embedder::load_with(dir, KernelChoice::Auto)
    }

    /// Loads a sentence-transformers folder: `config.json`, `model.safetensors`, `tokenizer.json`,
    /// and, when present, `1_Pooling/config.json`, `sentence_bert_config.json` (max_seq_length)
    /// and `config_sentence_transformers.json` (prompts: the query prefix). `kernel` says which
    /// kernels run it; one the CPU cannot run is an error that says why.
    pub fn load_with(dir: &Path, kernel: KernelChoice) -> Result<Embedder, EmbedError> {
        let kernel = Kernel::resolve(kernel)?;
        let err = |m: String| EmbedError::Model(dir.to_owned(), m);
        let config_text = std::fs::read_to_string(dir.join("config.json"))
            .map_err(|e| err(format!("config.json: {e}")))?;
        let config: Config =
            serde_json::from_str(&config_text).map_err(|e| err(format!("config.json: {e}")))?;
        let weights = dir.join("model.safetensors");
        if !weights.exists() {
            return Err(err("model.safetensors is missing".into()));
        }
        let model = Bert::load(&weights, &config, kernel).map_err(err)?;

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
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            scratch: Mutex::new(Vec::new()),
            name,
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The kernels that run the model: `avx2`, `portable`.
    pub fn kernel(&self) -> &'static str {
        self.model.kernel().name()
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

    /// Embeds documents: consecutive texts are packed into chunks of about `CHUNK_TOKENS`
    /// tokens (smaller when there are fewer tokens than threads could share), which the CPU's
    /// threads take in turn.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let ids: Vec<&[u32]> = encodings.iter().map(|e| e.get_ids()).collect();
        let total: usize = ids.iter().map(|s| s.len()).sum();
        let target = CHUNK_TOKENS.min(total.div_ceil(self.threads)).max(1);
        let mut chunks: Vec<std::ops::Range<usize>> = Vec::new();
        let mut start = 0;
        let mut tokens = 0;
        for (i, s) in ids.iter().enumerate() {
            if tokens > 0 && tokens + s.len() > target {
                chunks.push(start..i);
                start = i;
                tokens = 0;
            }
            tokens += s.len();
        }
        if start < ids.len() {
            chunks.push(start..ids.len());
        }

        let mut out = vec![Vec::new(); texts.len()];
        let threads = self.threads.min(chunks.len());
        if threads <= 1 {
            let mut scratch = self.take_scratch();
            for c in &chunks {
                let vectors = self.forward(&ids[c.clone()], &mut scratch);
                for (k, v) in vectors.into_iter().enumerate() {
                    out[c.start + k] = v;
                }
            }
            self.return_scratch(scratch);
            return Ok(out);
        }
        let next = AtomicUsize::new(0);
        let done = Mutex::new(Vec::with_capacity(chunks.len()));
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    let mut scratch = self.take_scratch();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(c) = chunks.get(i) else { break };
                        let vectors = self.forward(&ids[c.clone()], &mut scratch);
                        done.lock().unwrap().push((c.start, vectors));
                    }
                    self.return_scratch(scratch);
                });
            }
        });
        for (start, vectors) in done.into_inner().unwrap() {
            for (k, v) in vectors.into_iter().enumerate() {
                out[start + k] = v;
            }
        }
        Ok(out)
    }

    fn take_scratch(&self) -> Scratch {
        self.scratch.lock().unwrap().pop().unwrap_or_default()
    }

    fn return_scratch(&self, s: Scratch) {
        let mut kept = self.scratch.lock().unwrap();
        if kept.len() < self.threads {
            kept.push(s);
        }
    }

    /// Pooled (and normalised) vectors of the packed sequences.
    fn forward(&self, seqs: &[&[u32]], scratch: &mut Scratch) -> Vec<Vec<f32>> {
        let h = self.dim;
        let hidden = self.model.forward(seqs, scratch);
        let mut rows = Vec::with_capacity(seqs.len());
        let mut t0 = 0;
        for s in seqs {
            let tokens = &hidden[t0 * h..(t0 + s.len()) * h];
            let mut v = vec![0f32; h];
            match self.pooling {
                Pooling::Cls => v.copy_from_slice(&tokens[..h.min(tokens.len())]),
                Pooling::Mean => {
                    for t in tokens.chunks_exact(h) {
                        v.iter_mut().zip(t).for_each(|(a, b)| *a += b);
                    }
                    let n = s.len().max(1) as f32;
                    v.iter_mut().for_each(|a| *a /= n);
                }
            }
            if self.normalize {
                normalize(&mut v);
            }
            rows.push(v);
            t0 += s.len();
        }
        rows
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

    /// A file of the shared data set (`../shared/data`), or None, said, when it is absent.
    fn shared_data(relative: &str) -> Option<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data")
            .join(relative);
        let text = std::fs::read_to_string(&path).ok();
        if text.is_none() {
            eprintln!("skipped: {} is absent", path.display());
        }
        text
    }

    #[test]
    fn matches_reference_vectors() {
        let Some(dir) = model_dir() else { return };
        let Some(text) = shared_data("fixtures/minilm-reference.json") else {
            return;
        };
        let r: serde_json::Value = serde_json::from_str(&text).unwrap();
        let sentences: Vec<&str> = r["sentences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        for kernel in Kernel::available() {
            let choice = kernel.name().parse().unwrap();
            let embedder = Embedder::load_with(&dir, choice).unwrap();
            assert_eq!(embedder.kernel(), kernel.name());
            check_reference(&embedder, &r, &sentences, tolerance(kernel));
        }
    }

    /// How far each kernel's vectors may be from the reference (sentence-transformers on
    /// PyTorch, f32), per component of the normalised vector. The f32 kernels differ from the
    /// reference only in the order of their sums and in their `exp` and `erf` (within 3e-7 and
    /// 1e-7 of the exact values): measured worst 2.5e-7 (avx2) and 2.2e-7 (portable) over the
    /// six texts, 1.2e-7 between the two on 24 abstracts. (candle's f32 encoder was held to
    /// 1e-5.) `avx512` multiplies in bf16 (8 bits of mantissa, as PyTorch's bf16 autocast):
    /// measured worst 1.0e-3 from the reference and 1.25e-3 from the f32 kernels on the 24
    /// abstracts (PyTorch's own bf16 autocast: 1.5e-3 from its f32 on 400 abstracts). `amx`
    /// multiplies the same bf16 operands on the tile unit, its f32 sums in another order:
    /// measured worst 1.39e-3 from PyTorch's f32 on the 400 abstracts (autocast: 1.31e-3).
    fn tolerance(kernel: Kernel) -> f32 {
        match kernel {
            Kernel::Avx2 | Kernel::Portable => 1e-6,
            Kernel::Avx512 | Kernel::Amx => 3e-3,
        }
    }

    fn check_reference(
        embedder: &Embedder,
        r: &serde_json::Value,
        sentences: &[&str],
        tolerance: f32,
    ) {
        assert_eq!(embedder.max_tokens(), 256);
        let got = embedder.embed(sentences).unwrap();
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
            assert!(
                worst < tolerance,
                "{}: text {i}: max abs difference {worst}",
                embedder.kernel()
            );
        }
        // One text alone gives the same vector as in a batch (no padding leaks into the pooling).
        let alone = embedder.embed(&sentences[..1]).unwrap();
        let diff = alone[0]
            .iter()
            .zip(&got[0])
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            diff < tolerance,
            "{}: alone vs batched {diff}",
            embedder.kernel()
        );
    }

    /// Every kernel the CPU runs gives the same vectors, within the tolerance, for real abstracts
    /// (long texts, several to a forward pass and to a thread).
    #[test]
    fn kernels_agree() {
        let Some(dir) = model_dir() else { return };
        let Some(text) = shared_data("arxiv-listings/sample_1000.jsonl") else {
            return;
        };
        let texts: Vec<String> = text
            .lines()
            .take(24)
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                format!(
                    "{}. {}",
                    v["title"].as_str().unwrap_or_default(),
                    v["abstract"].as_str().unwrap_or_default()
                )
            })
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let runs: Vec<(Kernel, Vec<Vec<f32>>)> = Kernel::available()
            .into_iter()
            .map(|k| {
                let e = Embedder::load_with(&dir, k.name().parse().unwrap()).unwrap();
                (k, e.embed(&refs).unwrap())
            })
            .collect();
        let (first, base) = &runs[0];
        for (kernel, vectors) in &runs[1..] {
            for (i, (a, b)) in base.iter().zip(vectors).enumerate() {
                let worst = a
                    .iter()
                    .zip(b)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0f32, f32::max);
                let allowed = tolerance(*first).max(tolerance(*kernel));
                assert!(
                    worst < allowed,
                    "text {i}: {} and {} differ by {worst}",
                    first.name(),
                    kernel.name()
                );
            }
        }
        // One at a time (a query) and all together (the worker) give the same vectors.
        let e = Embedder::load(&dir).unwrap();
        let alone = e.embed(&refs[5..6]).unwrap();
        let worst = alone[0]
            .iter()
            .zip(&base[5])
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-6, "alone vs batched: {worst}");
    }
}
