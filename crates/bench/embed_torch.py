"""The Python half of embed_vs_torch.sh: embeds the texts paperboy-bench wrote with
sentence-transformers on PyTorch (CPU, two threads, batches of 32), in f32 and under bf16
autocast, and prints both beside paperboy's kernels with the ratios.

usage: embed_torch.py MODEL_DIR TEXTS_JSONL PAPERBOY_TABLE_MD
"""

import contextlib
import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer

model_dir, texts_path, paperboy_table = sys.argv[1:4]
torch.set_num_threads(2)
texts = [json.loads(line) for line in open(texts_path, encoding="utf-8")]
model = SentenceTransformer(model_dir, device="cpu")
model.max_seq_length = 256

torch_rows = []
reference = None
for label, context in [
    ("sentence-transformers, PyTorch f32", contextlib.nullcontext),
    ("sentence-transformers, PyTorch bf16 autocast", lambda: torch.autocast("cpu", dtype=torch.bfloat16)),
]:
    with torch.inference_mode(), context():
        model.encode(texts[:32], batch_size=32)  # warm-up
        start = time.perf_counter()
        vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_tensor=True)
        seconds = time.perf_counter() - start
    vectors = vectors.float()
    if reference is None:
        reference = vectors
        drift = 0.0
    else:
        drift = (vectors - reference).abs().max().item()
    torch_rows.append((label, len(texts) / seconds, drift))

# paperboy-bench's table: | kernel | documents/s | tokens/s | query median | query p99 |
paperboy_rows = []
for line in open(paperboy_table, encoding="utf-8"):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) == 5 and cells[1].replace(".", "", 1).isdigit():
        paperboy_rows.append((f"paperboy, kernel {cells[0]}", float(cells[1])))

f32 = torch_rows[0][1]
bf16 = torch_rows[1][1]
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(texts)} texts, batches of 32")
print()
print("| embedder | documents/s | vs torch f32 | vs torch bf16 | max abs diff vs torch f32 |")
print("|---|---:|---:|---:|---:|")
for label, rate in paperboy_rows:
    print(f"| {label} | {rate:.2f} | {rate / f32:.2f}x | {rate / bf16:.2f}x | |")
for label, rate, drift in torch_rows:
    print(f"| {label} | {rate:.2f} | {rate / f32:.2f}x | {rate / bf16:.2f}x | {drift:.2e} |")
