#!/usr/bin/env bash
# Embedding speed side by side, on the same texts in one run: paperboy's kernels (every one this
# CPU can run, `paperboy-bench embed --kernel all`) against sentence-transformers on PyTorch with
# two threads, in f32 and under bf16 autocast. The Python side is installed into a venv from the
# package registry pip is set up with, at pinned versions.
#
# usage (from the repository root):
#   crates/bench/embed_vs_torch.sh MODEL_DIR [RECORDS] [DOCS]
# MODEL_DIR: what `paperboy model install --dir MODEL_DIR` writes.
# RECORDS: default ../shared/data/arxiv-listings/arxiv_listings_2025-03_2026-07.jsonl.gz
# DOCS: the first N records, default 400.
# VENV (environment): where the venv goes, default target/embed-vs-torch-venv.
# ROUNDS (environment): timed passes per embedder (paperboy's kernels interleaved), the median
# reported; default 3.
set -euo pipefail

MODEL_DIR=${1:?usage: $0 MODEL_DIR [RECORDS] [DOCS]}
RECORDS=${2:-../shared/data/arxiv-listings/arxiv_listings_2025-03_2026-07.jsonl.gz}
DOCS=${3:-400}
VENV=${VENV:-target/embed-vs-torch-venv}
ROUNDS=${ROUNDS:-3}
TORCH_VERSION=2.15.0
SENTENCE_TRANSFORMERS_VERSION=6.2.0

here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q "torch==$TORCH_VERSION" "sentence-transformers==$SENTENCE_TRANSFORMERS_VERSION"
cargo build -q --release -p paperboy-bench

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target/release/paperboy-bench embed --model-dir "$MODEL_DIR" --records "$RECORDS" \
    --docs "$DOCS" --kernel all --texts-out "$work/texts.jsonl" --vectors-out "$work/vectors" \
    --rounds "$ROUNDS" \
    | tee "$work/paperboy.md"
echo
ROUNDS=$ROUNDS "$VENV/bin/python" "$here/embed_torch.py" "$MODEL_DIR" "$work/texts.jsonl" \
    "$work/paperboy.md" "$work/vectors"
