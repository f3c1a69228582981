#!/usr/bin/env python3
"""Check paperboy's collections against the official `huggingface_hub` client and `hf` CLI.

Usage:
    python3 tests/hf_client/check_collections.py BASE_URL TOKEN USERNAME PAPER_ID PAPER_ID

TOKEN is a paperboy write token of USERNAME; the two papers exist on the server. Prints one line
per check ("PASS ..." / "FAIL ..."), then exactly "N passed, M failed".
"""
import json
import os
import subprocess
import sys

from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

RESULTS = {"passed": 0, "failed": 0}


def check(name, fn):
    try:
        note = fn()
        RESULTS["passed"] += 1
        print(f"PASS {name}{': ' + note if note else ''}", flush=True)
    except Exception as e:  # noqa: BLE001 - every failure is reported, the run goes on
        RESULTS["failed"] += 1
        print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)


def status_of(fn):
    try:
        fn()
    except HfHubHTTPError as e:
        return e.response.status_code if e.response is not None else None
    return 200


def main(argv):
    base, token, username, first, second = argv[1].rstrip("/"), argv[2], argv[3], argv[4], argv[5]
    api = HfApi(endpoint=base, token=token)
    anonymous = HfApi(endpoint=base, token=False)
    state = {}

    def whoami():
        me = api.whoami()
        assert me["name"] == username, me
        return me["name"]

    def create():
        c = api.create_collection(title="Reading list", description="Papers to read")
        assert c.slug.startswith(username + "/"), c.slug
        assert c.title == "Reading list" and c.items == [] and c.private is False, vars(c)
        state["slug"] = c.slug
        again = api.create_collection(title="Reading list", exists_ok=True)
        assert again.slug == c.slug, (again.slug, c.slug)
        return c.slug

    def add():
        slug = state["slug"]
        c = api.add_collection_item(slug, item_id=first, item_type="paper", note="Read first")
        c = api.add_collection_item(slug, item_id=second, item_type="paper")
        assert [i.item_id for i in c.items] == [first, second], [i.item_id for i in c.items]
        assert c.items[0].note == "Read first" and c.items[0].item_type == "paper"
        assert status_of(lambda: api.add_collection_item(slug, item_id=first, item_type="paper")) == 409
        c = api.add_collection_item(slug, item_id=first, item_type="paper", exists_ok=True)
        assert status_of(lambda: api.add_collection_item(slug, item_id="9999.99999", item_type="paper")) == 404
        state["items"] = [i.item_object_id for i in c.items]
        return f"{len(c.items)} items"

    def reorder():
        slug = state["slug"]
        api.update_collection_item(slug, state["items"][1], position=0, note="Now first")
        c = api.get_collection(slug)
        assert [i.item_id for i in c.items] == [second, first], [i.item_id for i in c.items]
        assert c.items[0].note == "Now first" and [i.position for i in c.items] == [0, 1]
        return "moved"

    def metadata():
        slug = state["slug"]
        c = api.update_collection_metadata(slug, title="Private list", private=True, theme="blue")
        assert (c.title, c.private, c.theme) == ("Private list", True, "blue"), vars(c)
        assert status_of(lambda: anonymous.get_collection(slug)) == 404, "private to others"
        return "private"

    def listing():
        mine = list(api.list_collections(owner=username))
        assert state["slug"] in [c.slug for c in mine], [c.slug for c in mine]
        holding = list(api.list_collections(item=f"papers/{first}"))
        assert [c.slug for c in holding] == [state["slug"]], [c.slug for c in holding]
        assert list(anonymous.list_collections(owner=username)) == [], "private lists hide"
        return f"{len(mine)} of {username}"

    def cli():
        env = dict(os.environ, HF_ENDPOINT=base, HF_TOKEN=token, HF_HUB_DISABLE_TELEMETRY="1")
        hf = [sys.executable, "-m", "huggingface_hub.cli.hf", "collections"]
        info = subprocess.run(hf + ["info", state["slug"], "--format", "json"], env=env, capture_output=True, text=True, timeout=60)
        if info.returncode != 0:
            info = subprocess.run(hf + ["info", state["slug"]], env=env, capture_output=True, text=True, timeout=60)
        assert info.returncode == 0 and "Private list" in info.stdout, (info.returncode, info.stdout[-300:], info.stderr[-300:])
        ls = subprocess.run(hf + ["ls", "--owner", username, "--format", "json"], env=env, capture_output=True, text=True, timeout=60)
        assert ls.returncode == 0 and state["slug"] in ls.stdout, (ls.stdout[-300:], ls.stderr[-300:])
        return "hf collections info, ls"

    def delete():
        slug = state["slug"]
        api.delete_collection_item(slug, state["items"][0])
        c = api.get_collection(slug)
        assert [i.item_id for i in c.items] == [second], [i.item_id for i in c.items]
        api.delete_collection_item(slug, state["items"][0], missing_ok=True)
        api.delete_collection(slug)
        assert status_of(lambda: api.get_collection(slug)) == 404
        api.delete_collection(slug, missing_ok=True)
        return "gone"

    for name, fn in [("whoami", whoami), ("create", create), ("add items", add), ("reorder", reorder),
                     ("metadata", metadata), ("list", listing), ("hf CLI", cli), ("delete", delete)]:
        check(name, fn)
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
