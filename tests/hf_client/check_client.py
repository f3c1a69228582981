#!/usr/bin/env python3
"""Check a paperboy server against the official `huggingface_hub` client.

Usage:
    python3 tests/hf_client/check_client.py BASE_URL EXPECTATIONS_JSON_PATH

EXPECTATIONS_JSON_PATH holds:
    {
      "daily":   {"2025-06-02": ["2505.24864", "..."]},       # exact ids, in order
      "papers":  {"2505.24864": "expected title"},                # paper_info, read_paper and `hf papers read`
      "search":  [{"query": "prorl", "expect_id": "2505.24864"}],  # optional "limit"
      "missing": ["0000.00000"]                                 # optional: ids that must 404
    }

Prints one line per check ("PASS ..." / "FAIL ..."), then exactly "N passed, M failed".
Exit status is 0 only if nothing failed. The only dependency is huggingface_hub.
"""
import datetime
import json
import os
import subprocess
import signal
import sys

# Must be set before huggingface_hub is imported:
# - telemetry off: otherwise the first call fetches {HF_ENDPOINT}/api/agent-harnesses
#   (huggingface.co by default, not BASE_URL) with a 3 s timeout, to build the user-agent.
# - offline mode off: it would block every request.
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.pop(_var, None)

from huggingface_hub import HfApi, __version__ as HF_HUB_VERSION  # noqa: E402
from huggingface_hub.hf_api import PaperAuthor, PaperInfo  # noqa: E402
from huggingface_hub.errors import HfHubHTTPError  # noqa: E402

CHECK_TIMEOUT_S = 60  # the client itself uses timeout=None; guard against a hung server
MAX_PAGES = 200

RESULTS = {"passed": 0, "failed": 0}


class CheckFailed(Exception):
    pass


def _alarm(signum, frame):
    raise TimeoutError(f"no answer within {CHECK_TIMEOUT_S}s")


def run_check(name, fn):
    """Run fn(); it returns a detail string on success and raises on failure."""
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(CHECK_TIMEOUT_S)
    try:
        detail = fn()
        RESULTS["passed"] += 1
        print(f"PASS {name}: {detail}", flush=True)
    except CheckFailed as e:
        RESULTS["failed"] += 1
        print(f"FAIL {name}: {e}", flush=True)
    except Exception as e:  # client-side parse errors (KeyError, ValueError, TypeError...) land here
        RESULTS["failed"] += 1
        msg = " ".join(str(e).split())[:300]
        print(f"FAIL {name}: {type(e).__name__}: {msg}", flush=True)
    finally:
        if hasattr(signal, "SIGALRM"):
            signal.alarm(0)


def norm_ws(s):
    return " ".join((s or "").split())


def short(ids, n=6):
    ids = list(ids)
    return "[" + ", ".join(ids[:n]) + (f", ... {len(ids) - n} more" if len(ids) > n else "") + "]"


def first_diff(got, want):
    for i, (a, b) in enumerate(zip(got, want)):
        if a != b:
            return f"first difference at index {i}: got {a!r}, expected {b!r}"
    return f"lengths differ: got {len(got)}, expected {len(want)}"


def check_item_types(p, where):
    if not isinstance(p, PaperInfo):
        raise CheckFailed(f"{where}: not a PaperInfo ({type(p).__name__})")
    if not isinstance(p.id, str) or not p.id:
        raise CheckFailed(f"{where}: id missing (client reads top-level 'id' or 'paper.id'), got {p.id!r}")


def check_daily(api, date, expected):
    fetched = {}

    def fn():
        first = list(api.list_daily_papers(date=date))
        for i, p in enumerate(first):
            check_item_types(p, f"item {i}")
        ids = [p.id for p in first]
        fetched["items"] = first
        if ids == expected:
            return f"{len(ids)} ids in order (single request)"
        # The client never follows pages by itself; if the server capped the first
        # answer, walk ?p=1,2,... with limit=<size of first page>.
        if first and len(ids) < len(expected) and ids == expected[: len(ids)]:
            page_size = len(ids)
            pages = [first]
            for page in range(1, MAX_PAGES):
                chunk = list(api.list_daily_papers(date=date, p=page, limit=page_size))
                for i, p in enumerate(chunk):
                    check_item_types(p, f"page {page} item {i}")
                if not chunk:
                    break
                pages.append(chunk)
                if len(chunk) < page_size:
                    break
            fetched["items"] = [p for chunk in pages for p in chunk]
            ids = [p.id for p in fetched["items"]]
            if ids == expected:
                return f"{len(ids)} ids in order ({len(pages)} pages of {page_size} via p/limit)"
            raise CheckFailed(f"paginated ids {short(ids)} != expected {short(expected)}; {first_diff(ids, expected)}")
        raise CheckFailed(f"ids {short(ids)} != expected {short(expected)}; {first_diff(ids, expected)}")

    run_check(f"daily {date} ids", fn)

    def fields():
        items = fetched.get("items")
        if items is None:
            items = list(api.list_daily_papers(date=date))
        if not items:
            if expected:
                raise CheckFailed("empty list")
            return "empty list, nothing to parse"
        problems = []
        for i, p in enumerate(items):
            if not isinstance(p.title, str) or not p.title.strip():
                problems.append(f"{p.id}: title {p.title!r} (client reads TOP-LEVEL 'title' only)")
            if not isinstance(p.published_at, datetime.datetime):
                problems.append(f"{p.id}: published_at {p.published_at!r}")
            if p.authors is not None and not all(isinstance(a, PaperAuthor) for a in p.authors):
                problems.append(f"{p.id}: authors not parsed into PaperAuthor (duplicate top-level 'authors'?)")
            if p.upvotes is not None and (isinstance(p.upvotes, bool) or not isinstance(p.upvotes, int)):
                problems.append(f"{p.id}: upvotes {p.upvotes!r}")
        if problems:
            raise CheckFailed(f"{len(problems)} problem(s): " + "; ".join(problems[:5]))
        return f"{len(items)} items have title, published_at (datetime), parsed authors"

    run_check(f"daily {date} fields", fields)


def check_paper(api, pid, title):
    def fn():
        p = api.paper_info(pid)
        check_item_types(p, "paper")
        if p.id != pid:
            raise CheckFailed(f"id {p.id!r} != {pid!r}")
        note = ""
        if p.title != title:
            if norm_ws(p.title) == norm_ws(title):
                note = " (equal after whitespace normalisation)"
            else:
                raise CheckFailed(f"title {p.title!r} != expected {title!r}")
        if not p.authors:
            raise CheckFailed(f"authors empty/missing: {p.authors!r}")
        bad = [a for a in p.authors if not isinstance(a, PaperAuthor) or not isinstance(a.name, str) or not a.name]
        if bad:
            raise CheckFailed(f"{len(bad)} author(s) without a name / not parsed: {bad[:2]!r}")
        if not isinstance(p.published_at, datetime.datetime) or p.published_at.tzinfo is None:
            raise CheckFailed(f"published_at not an aware datetime: {p.published_at!r}")
        if isinstance(p.upvotes, bool) or not isinstance(p.upvotes, int) or p.upvotes < 0:
            raise CheckFailed(f"upvotes not a non-negative int: {p.upvotes!r}")
        return (f"title ok{note}, {len(p.authors)} authors, published_at {p.published_at.isoformat()}, "
                f"upvotes {p.upvotes}")

    run_check(f"paper {pid}", fn)


def check_read(api, base, pid, title):
    """`HfApi.read_paper` and the `hf papers read` command: the paper as Markdown."""

    def fn():
        text = api.read_paper(pid)
        if not text.startswith("# ") or norm_ws(text.splitlines()[0][2:]) != norm_ws(title):
            raise CheckFailed(f"read_paper does not open with the title: {text[:120]!r}")
        if "## Abstract" not in text:
            raise CheckFailed("read_paper has no abstract section")
        env = dict(os.environ, HF_ENDPOINT=base, HF_HUB_DISABLE_TELEMETRY="1")
        cli = subprocess.run(
            [sys.executable, "-m", "huggingface_hub.cli.hf", "papers", "read", pid],
            env=env, capture_output=True, text=True, timeout=60,
        )
        if cli.returncode != 0 or norm_ws(title) not in norm_ws(cli.stdout):
            raise CheckFailed(f"hf papers read exited {cli.returncode}: {cli.stdout[:200]!r} {cli.stderr[-300:]!r}")
        return f"{len(text)} characters of Markdown, the CLI too"

    run_check(f"read {pid}", fn)


def check_search(api, entry):
    q = entry.get("query")
    want = entry.get("expect_id")
    limit = entry.get("limit")

    def fn():
        kwargs = {"query": q}
        if limit is not None:
            kwargs["limit"] = limit
        results = list(api.list_papers(**kwargs))
        for i, p in enumerate(results):
            check_item_types(p, f"result {i}")
        ids = [p.id for p in results]
        if want in ids:
            p = results[ids.index(want)]
            if not isinstance(p.title, str) or not p.title.strip():
                raise CheckFailed(f"{want} found at rank {ids.index(want) + 1} but title is {p.title!r}")
            return f"{want} at rank {ids.index(want) + 1} of {len(ids)}"
        raise CheckFailed(f"{want} not in {len(ids)} results {short(ids)}")

    run_check(f"search {q!r}", fn)


def check_missing(api, pid):
    def fn():
        try:
            api.paper_info(pid)
        except HfHubHTTPError as e:
            code = e.response.status_code if e.response is not None else None
            if code != 404:
                raise CheckFailed(f"expected HTTP 404, got {code}")
            return f"HfHubHTTPError 404, server_message={e.server_message!r}"
        raise CheckFailed("no error raised for an unknown id")

    run_check(f"missing {pid}", fn)


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        print("0 passed, 1 failed")
        return 2
    base, exp_path = argv[1].rstrip("/"), argv[2]  # client builds f"{endpoint}/api/...": no trailing slash
    print(f"INFO huggingface_hub {HF_HUB_VERSION}, endpoint {base}", flush=True)
    try:
        with open(exp_path, encoding="utf-8") as f:
            exp = json.load(f)
    except Exception as e:
        print(f"FAIL load expectations {exp_path}: {type(e).__name__}: {e}")
        print("0 passed, 1 failed")
        return 1

    api = HfApi(endpoint=base, token=False)
    for date, ids in (exp.get("daily") or {}).items():
        check_daily(api, date, list(ids))
    for pid, title in (exp.get("papers") or {}).items():
        check_paper(api, pid, title)
        check_read(api, base, pid, title)
    for entry in exp.get("search") or []:
        check_search(api, entry)
    for pid in exp.get("missing") or []:
        check_missing(api, pid)

    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
