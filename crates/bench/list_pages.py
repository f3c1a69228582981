"""Sequential latency of /list/{category}/{day} over the category's days (walked by prev links)."""
import http.client, re, statistics, sys, time
host, port, cat, n, rounds = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
c = http.client.HTTPConnection(host, port)
def get(path):
    c.request("GET", path, headers={"Accept-Encoding": "gzip"})
    r = c.getresponse(); body = r.read(); return r.status, body
import gzip
status, body = get(f"/list/{cat}")
body = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
days = []
m = re.search(rb'rel="prev" href="/list/[^/]+/(\d{4}-\d{2}-\d{2})"', body)
while m and len(days) < n:
    days.append(m.group(1).decode())
    status, body = get(f"/list/{cat}/{days[-1]}")
    import gzip
    html = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
    m = re.search(rb'rel="prev" href="/list/[^/]+/(\d{4}-\d{2}-\d{2})"', html)
times, sizes = [], []
for _ in range(rounds):
    for d in days:
        t = time.perf_counter(); status, body = get(f"/list/{cat}/{d}"); times.append((time.perf_counter() - t) * 1000)
        assert status == 200, status
        sizes.append(len(body))
times.sort()
q = lambda p: times[min(len(times) - 1, int(p * len(times)))]
print(f"{cat}: {len(days)} days x {rounds} rounds = {len(times)} requests; median {statistics.median(times):.2f} ms, p99 {q(0.99):.2f} ms, max {times[-1]:.2f} ms; gzip body median {statistics.median(sizes)/1024:.1f} KiB")
