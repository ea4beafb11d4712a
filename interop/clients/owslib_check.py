"""A partner's Python: OWSLib (Debian python3-owslib) reads the collector's
OGC API - Features. Input (JSON on stdin): {url, key, collection, limit,
bbox}; writes JSON to the file named by the last argument: the features
seen paging through the collection, those inside bbox, and the queryables.
"""
import json
import sys

from owslib.ogcapi.features import Features


def main():
    cfg = json.load(sys.stdin)
    out = {}
    api = Features(cfg["url"], headers={"Authorization": "Bearer " + cfg["key"]})
    coll = cfg["collection"]
    # Paging through the whole collection, limit features at a time.
    seen, offset, pages = [], 0, 0
    try:
        while True:
            page = api.collection_items(coll, limit=cfg["limit"], offset=offset)
            feats = page.get("features", [])
            seen += [f["properties"].get("code") for f in feats]
            pages += 1
            if len(feats) < cfg["limit"] or pages > 10000:
                break
            offset += len(feats)
    except Exception as e:  # OWSLib raises on any HTTP error
        out["paging_error"] = repr(e)
    out["paged"], out["pages"] = seen, pages
    try:
        page = api.collection_items(coll, bbox=cfg["bbox"], limit=10000)
        out["bbox"] = [f["properties"].get("code") for f in page.get("features", [])]
    except Exception as e:
        out["bbox_error"] = repr(e)
    try:
        q = api.collection_queryables(coll)
        if "properties" not in q:
            out["queryables_error"] = "no properties in the answer: " + json.dumps(q)[:300]
        out["queryables"] = {k: v.get("type") for k, v in q.get("properties", {}).items()}
    except Exception as e:
        out["queryables_error"] = repr(e)
    with open(sys.argv[-1], "w") as f:
        json.dump(out, f)


main()
