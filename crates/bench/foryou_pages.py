"""Latency of /for-you for readers with many signals, over a served data directory.

usage: foryou_pages.py DB HOST PORT READERS SIGNALS DAYS ROUNDS

Makes READERS accounts straight in the SQLite database DB (a session each, SIGNALS saved papers
drawn at random from the store, half of the readers following cs.CL and cs.LG, the rest nothing,
so ranking every category), then, over one keep-alive connection per reader: the first /for-you
(the model trained from the signals and stored), and ROUNDS walks over the latest DAYS days of
/for-you?day=... (models kept). Prints the first-request median and max, and the warm median and
p99.
"""
import hashlib, http.client, random, re, secrets, sqlite3, statistics, sys, time

db, host, port, readers, signals, days, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), *map(int, sys.argv[4:8])
random.seed(17)
con = sqlite3.connect(db, timeout=30)
papers = [r[0] for r in con.execute("SELECT id FROM papers WHERE hidden = 0")]
now = "2026-12-03T00:00:00.000000Z"
tokens = []
for i in range(readers):
    email = f"bench-reader-{i}-{secrets.token_hex(4)}@example.org"
    cur = con.execute(
        "INSERT INTO accounts (email, username, display_name, created_at) VALUES (?, ?, ?, ?)",
        (email, email.split("@")[0], f"Reader {i}", now),
    )
    account = cur.lastrowid
    token = secrets.token_hex(32)
    con.execute("INSERT INTO sessions (token_hash, account_id, created_at) VALUES (?, ?, ?)",
                (hashlib.sha256(token.encode()).hexdigest(), account, now))
    for n, p in enumerate(random.sample(papers, signals)):
        con.execute("INSERT INTO saves (account_id, paper_id, saved_at) VALUES (?, ?, ?)",
                    (account, p, f"2026-12-02T00:{n // 60 % 60:02d}:{n % 60:02d}.000000Z"))
    if i % 2 == 0:
        for cat in ("cs.CL", "cs.LG"):
            con.execute("INSERT INTO follows (account_id, kind, key, shown, created_at) VALUES (?, 'category', ?, ?, ?)",
                        (account, cat, cat, now))
    tokens.append(token)
con.commit()

def get(c, token, path):
    t = time.perf_counter()
    c.request("GET", path, headers={"Cookie": f"pb_session={token}"})
    r = c.getresponse(); body = r.read()
    assert r.status == 200, (r.status, body[:300])
    return (time.perf_counter() - t) * 1000, body

first, warm, walked = [], [], {}
for token in tokens:
    c = http.client.HTTPConnection(host, port)
    ms, body = get(c, token, "/for-you")
    first.append(ms)
    assert b'class="why"' in body
    found = []
    m = re.search(rb'rel="prev" href="/for-you\?day=(\d{4}-\d{2}-\d{2})"', body)
    while m and len(found) < days:
        found.append(m.group(1).decode())
        _, body = get(c, token, f"/for-you?day={found[-1]}")
        m = re.search(rb'rel="prev" href="/for-you\?day=(\d{4}-\d{2}-\d{2})"', body)
    walked[token] = (c, found)
for _ in range(rounds):
    for token, (c, found) in walked.items():
        for d in found:
            ms, _ = get(c, token, f"/for-you?day={d}")
            warm.append(ms)
warm.sort()
q = lambda p: warm[min(len(warm) - 1, int(p * len(warm)))]
print(f"{readers} readers x {signals} saved papers; first /for-you (train + store the model): "
      f"median {statistics.median(first):.1f} ms, max {max(first):.1f} ms")
print(f"warm /for-you?day=: {len(warm)} requests, median {statistics.median(warm):.2f} ms, "
      f"p99 {q(0.99):.2f} ms, max {warm[-1]:.2f} ms")
