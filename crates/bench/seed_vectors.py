"""Seeds a data directory's embeddings before `paperboy serve` starts.

usage: seed_vectors.py DB VECTORS
       seed_vectors.py DB --random MODEL_KEY [DIM]

With VECTORS, a file written by `paperboy eval foryou --vectors`: stores the vectors it holds
(id, hash of the embedded text, vector) of the papers the SQLite database DB holds in its
`embeddings` table, under the file's model name. The server loads them, and its worker embeds only
the papers whose text hash differs or that have none (it checks every paper's hash as it goes), so
the vectors served are the model's either way. Benchmarks that need an embedded corpus save the
half hour or more of embedding it.

With --random: stores a random unit vector for every paper under MODEL_KEY (what `/api/status`
shows as `search.semantic.model`, e.g. `all-MiniLM-L6-v2:384:7909e68cb9698059`) with the hash of
the paper's real text, so the worker takes them as embedded. Only for latency benchmarks, where
the work done per vector does not depend on its values (BENCHMARKS.md says when it was used):
search results over such vectors mean nothing.
"""
import json, random, sqlite3, struct, sys

MAGIC = b"paperboy foryou vectors 1\n"


def paper_text(title, summary):
    """crates/search/src/semantic.rs `paper_text`."""
    s = ""
    for w in title.split() + ["\n"] + summary.split():
        if w != "\n" and s and not s.endswith("\n"):
            s += " "
        s += w
    return s.replace("\n", ". ").replace(".. ", ". ")


def text_hash(text):
    """crates/search/src/semantic.rs `text_hash` (FNV-1a, 64 bits, as a signed integer)."""
    h = 0xCBF29CE484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h - (1 << 64) if h >= 1 << 63 else h


def from_file(con, path):
    data = open(path, "rb").read()
    if not data.startswith(MAGIC):
        sys.exit(f"{path} is not a paperboy vectors file")
    at = len(MAGIC)
    (name_len,) = struct.unpack_from("<I", data, at); at += 4
    model = data[at:at + name_len].decode(); at += name_len
    dim, count = struct.unpack_from("<II", data, at); at += 8
    known = {r[0] for r in con.execute("SELECT id FROM papers")}
    rows = []
    for _ in range(count):
        id_len = data[at]; at += 1
        pid = data[at:at + id_len].decode(); at += id_len
        (th,) = struct.unpack_from("<q", data, at); at += 8
        vector = data[at:at + 4 * dim]; at += 4 * dim
        if pid in known:
            rows.append((model, pid, th, vector))
    return rows, f"{count} of {model} ({dim} dimensions)"


def random_vectors(con, model, dim):
    rng = random.Random(7)
    rows = []
    for pid, doc in con.execute("SELECT id, doc FROM papers"):
        d = json.loads(doc)
        v = [rng.gauss(0.0, 1.0) for _ in range(dim)]
        norm = sum(x * x for x in v) ** 0.5
        vector = struct.pack(f"<{dim}f", *(x / norm for x in v))
        rows.append((model, pid, text_hash(paper_text(d["title"], d["summary"])), vector))
    return rows, f"random {model} ({dim} dimensions)"


if len(sys.argv) < 3:
    sys.exit(__doc__)
db = sys.argv[1]
con = sqlite3.connect(db, timeout=30)
if sys.argv[2] == "--random":
    rows, what = random_vectors(con, sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 384)
else:
    rows, what = from_file(con, sys.argv[2])
con.executemany(
    "INSERT OR REPLACE INTO embeddings (model, paper_id, text_hash, vector) VALUES (?, ?, ?, ?)", rows)
con.commit()
print(f"{len(rows)} vectors of {what} stored in {db}")
