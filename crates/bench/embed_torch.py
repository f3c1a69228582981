"""The Python half of embed_vs_torch.sh: embeds the texts paperboy-bench wrote with
sentence-transformers on PyTorch (CPU, two threads, batches of 32), in f32 and under bf16
autocast, and prints both beside paperboy's kernels with the ratios.

usage: embed_torch.py MODEL_DIR TEXTS_JSONL PAPERBOY_TABLE_MD [PAPERBOY_VECTORS_DIR]

With PAPERBOY_VECTORS_DIR (KERNEL.jsonl files from `paperboy-bench embed --vectors-out`), each
paperboy row also says how far its vectors are from PyTorch's f32 ones.
"""

import contextlib
import json
import os
import sys
import time

import torch
from sentence_transformers import SentenceTransformer

model_dir, texts_path, paperboy_table = sys.argv[1:4]
vectors_dir = sys.argv[4] if len(sys.argv) > 4 else None
rounds = max(1, int(os.environ.get("ROUNDS", "1")))  # timed passes; the median is reported
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
        passes = []
        for _ in range(rounds):
            start = time.perf_counter()
            vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_tensor=True)
            passes.append(time.perf_counter() - start)
        seconds = sorted(passes)[len(passes) // 2]
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
        drift = ""
        if vectors_dir and os.path.exists(os.path.join(vectors_dir, f"{cells[0]}.jsonl")):
            with open(os.path.join(vectors_dir, f"{cells[0]}.jsonl"), encoding="utf-8") as f:
                mine = torch.tensor([json.loads(line) for line in f])
            drift = f"{(mine - reference).abs().max().item():.2e}"
        paperboy_rows.append((f"paperboy, kernel {cells[0]}", float(cells[1]), drift))

f32 = torch_rows[0][1]
bf16 = torch_rows[1][1]
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(texts)} texts, batches of 32, median of {rounds} passes")
print()
print("| embedder | documents/s | vs torch f32 | vs torch bf16 | max abs diff vs torch f32 |")
print("|---|---:|---:|---:|---:|")
for label, rate, drift in paperboy_rows:
    print(f"| {label} | {rate:.2f} | {rate / f32:.2f}x | {rate / bf16:.2f}x | {drift} |")
for label, rate, drift in torch_rows:
    print(f"| {label} | {rate:.2f} | {rate / f32:.2f}x | {rate / bf16:.2f}x | {drift:.2e} |")
