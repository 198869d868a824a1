#!/usr/bin/python3
# fidelity_es7.py: Debian's official python3-elasticsearch 7.17 client against the test server
# in its es7 flavour. Every check states what a real Elasticsearch 7.17 answers (product check,
# bulk helpers' per-item outcomes, versions and _seq_no progression, error types, counts,
# scan / scroll / search_after, aliases, mappings). Prints "N passed, M failed".
#
#   /usr/bin/python3 tests/es_server/fidelity_es7.py http://127.0.0.1:PORT
import sys
import traceback
import warnings

from elasticsearch import Elasticsearch, helpers
from elasticsearch.exceptions import ConflictError, NotFoundError, RequestError

warnings.simplefilter("ignore")  # the 7.17 client's body= deprecation notices
url = sys.argv[1]
es = Elasticsearch([url], timeout=30)
passed = 0
failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def run(name, fn):
    global failed
    try:
        fn()
    except Exception:  # a crash in a check is a failure of that check, the rest go on
        failed += 1
        print(f"FAIL {name}: exception")
        traceback.print_exc()


def t_info():
    info = es.info()  # the client's product check runs first and must pass
    check("info.version", info["version"]["number"].startswith("7.17."), info["version"])
    check("info.tagline", info["tagline"] == "You Know, for Search")
    check("info.build_flavor", info["version"]["build_flavor"] == "default")
    check("info.lucene", info["version"]["lucene_version"] == "8.11.3")


def t_indices():
    es.indices.create(index="books", body={
        "settings": {"number_of_shards": 1, "number_of_replicas": 0},
        "mappings": {"properties": {"title": {"type": "keyword"}, "year": {"type": "integer"}}},
    })
    check("exists", es.indices.exists(index="books") is True)
    check("not exists", es.indices.exists(index="nobooks") is False)
    try:
        es.indices.create(index="books")
        check("create twice", False)
    except RequestError as e:
        check("create twice 400", e.status_code == 400 and e.error == "resource_already_exists_exception", e.info)
    m = es.indices.get_mapping(index="books")
    check("get_mapping", m["books"]["mappings"]["properties"]["year"] == {"type": "integer"}, m)
    es.indices.put_mapping(index="books", body={"properties": {"tags": {"type": "keyword"}}})
    try:
        es.indices.put_mapping(index="books", body={"properties": {"year": {"type": "text"}}})
        check("mapping conflict", False)
    except RequestError as e:
        check("mapping conflict 400", e.error == "illegal_argument_exception"
              and e.info["error"]["reason"] == "mapper [year] cannot be changed from type [integer] to [text]", e.info)
    g = es.indices.get(index="books")
    check("get settings", g["books"]["settings"]["index"]["number_of_replicas"] == "0", g)
    for bad in ["Books", "_books", "bo*ks", "bo#ks", "bo:ks", "bo ks"]:
        try:
            es.indices.create(index=bad)
            check(f"invalid name {bad}", False)
        except RequestError as e:
            check(f"invalid name {bad}", e.error == "invalid_index_name_exception", e.info)
    try:
        es.indices.delete(index="nobooks")
        check("delete missing", False)
    except NotFoundError as e:
        check("delete missing 404", e.error == "index_not_found_exception", e.info)
    h = es.cluster.health(index="books")
    check("health green (0 replicas)", h["status"] == "green", h)


def t_versions():
    r1 = es.index(index="books", id="v", body={"title": "a"})
    r2 = es.index(index="books", id="v", body={"title": "b"})
    check("_type in 7.17", r1["_type"] == "_doc")
    check("created then updated", r1["result"] == "created" and r2["result"] == "updated")
    check("versions 1,2", (r1["_version"], r2["_version"]) == (1, 2))
    check("seq_no advances", r2["_seq_no"] == r1["_seq_no"] + 1)
    try:
        es.index(index="books", id="v", body={"title": "c"}, if_seq_no=r1["_seq_no"], if_primary_term=1)
        check("if_seq_no conflict", False)
    except ConflictError as e:
        check("if_seq_no conflict text", e.info["error"]["reason"] ==
              f"[v]: version conflict, required seqNo [{r1['_seq_no']}], primary term [1]. current document has seqNo [{r2['_seq_no']}] and primary term [1]",
              e.info)
    r = es.index(index="books", id="x", body={"title": "x"}, version=10, version_type="external")
    check("external version", r["_version"] == 10)
    try:
        es.index(index="books", id="x", body={"title": "x"}, version=10, version_type="external")
        check("external conflict", False)
    except ConflictError as e:
        check("external conflict text", e.info["error"]["reason"] ==
              "[x]: version conflict, current version [10] is higher or the same as provided version [10]", e.info)
    r = es.index(index="books", id="x", body={"title": "x"}, version=10, version_type="external_gte")
    check("external_gte same version ok", r["_version"] == 10)
    d = es.delete(index="books", id="v")
    check("delete result", d["result"] == "deleted" and d["_version"] == 3)
    r = es.index(index="books", id="v", body={"title": "again"})
    check("re-index after delete continues version", r["_version"] == 4 and r["result"] == "created", r)
    g = es.get(index="books", id="v")
    check("get", g["found"] and g["_source"] == {"title": "again"} and g["_version"] == 4)
    try:
        es.get(index="books", id="nope")
        check("get missing", False)
    except NotFoundError as e:
        check("get missing found:false", e.info.get("found") is False, e.info)


def t_bulk_helpers():
    docs = ({"_index": "bulk7", "_id": str(i), "_source": {"n": i, "name": f"doc {i}"}} for i in range(1000))
    ok, errs = helpers.bulk(es, docs, chunk_size=300, refresh=True)
    check("helpers.bulk", ok == 1000 and errs == [], (ok, errs))
    check("count 1000", es.count(index="bulk7")["count"] == 1000)
    actions = [
        {"_op_type": "create", "_index": "bulk7", "_id": "1", "_source": {"n": 1}},
        {"_op_type": "index", "_index": "bulk7", "_id": "bad", "_source": {"n": "not a number"}},
        {"_op_type": "delete", "_index": "bulk7", "_id": "missing"},
        {"_op_type": "update", "_index": "bulk7", "_id": "2", "doc": {"extra": True}},
        {"_op_type": "update", "_index": "bulk7", "_id": "new", "doc": {"n": 5000}, "doc_as_upsert": True},
        {"_op_type": "update", "_index": "bulk7", "_id": "absent", "doc": {"n": 1}},
        {"_op_type": "index", "_index": "bulk7", "_id": "3", "_source": {"n": 3}, "version": 5, "version_type": "external"},
        {"_op_type": "index", "_index": "bulk7", "_id": "3", "_source": {"n": 3}, "version": 4, "version_type": "external"},
    ]
    results = list(helpers.streaming_bulk(es, actions, raise_on_error=False, raise_on_exception=False))
    st = [(op, list(r.values())[0]["status"]) for op, r in results]
    check("streaming_bulk statuses", [s for _, s in st] == [409, 400, 404, 200, 201, 404, 200, 409], st)
    r = [list(x.values())[0] for _, x in results]
    check("create conflict type", r[0]["error"]["type"] == "version_conflict_engine_exception")
    check("mapping error type", r[1]["error"]["type"] == "mapper_parsing_exception"
          and r[1]["error"]["reason"].startswith("failed to parse field [n] of type [long] in document with id 'bad'"), r[1])
    check("delete not_found", r[2]["result"] == "not_found")
    check("update _version 2", r[3]["_version"] == 2 and r[3]["result"] == "updated")
    check("upsert created", r[4]["result"] == "created")
    check("document_missing", r[5]["error"]["type"] == "document_missing_exception"
          and r[5]["error"]["reason"] == "[_doc][absent]: document missing", r[5])
    try:
        helpers.bulk(es, [{"_op_type": "create", "_index": "bulk7", "_id": "1", "_source": {}}])
        check("helpers.bulk raises", False)
    except helpers.BulkIndexError as e:
        check("BulkIndexError", len(e.errors) == 1)
    docs = ({"_index": "par7", "_id": str(i), "_source": {"n": i}} for i in range(5000))
    n = sum(1 for ok, _ in helpers.parallel_bulk(es, docs, thread_count=4, chunk_size=500) if ok)
    es.indices.refresh(index="par7")
    check("parallel_bulk", n == 5000 and es.count(index="par7")["count"] == 5000)


def t_search():
    ids = sorted(int(h["_id"]) for h in helpers.scan(es, index="par7", query={"query": {"match_all": {}}}, size=700))
    check("scan all", ids == list(range(5000)), len(ids))
    r = es.search(index="par7", body={"query": {"range": {"n": {"gte": 10, "lt": 20}}}, "sort": [{"n": "desc"}], "size": 3})
    check("range+sort", [h["_source"]["n"] for h in r["hits"]["hits"]] == [19, 18, 17], r["hits"])
    check("total", r["hits"]["total"] == {"value": 10, "relation": "eq"})
    r = es.search(index="par7", body={"query": {"bool": {"filter": [{"terms": {"n": [1, 2, 3]}}], "must_not": [{"term": {"n": 2}}]}}})
    check("bool filter", sorted(h["_id"] for h in r["hits"]["hits"]) == ["1", "3"], r["hits"])
    r = es.search(index="par7", body={"query": {"ids": {"values": ["4", "40", "nope"]}}})
    check("ids", sorted(h["_id"] for h in r["hits"]["hits"]) == ["4", "40"])
    r = es.search(index="par7", body={"size": 0, "track_total_hits": True})
    check("track_total_hits", r["hits"]["total"]["value"] == 5000)
    r = es.search(index="par7", body={})
    check("default track_total_hits", r["hits"]["total"] == {"value": 5000, "relation": "eq"})
    r = es.search(index="par7", body={"sort": [{"n": "asc"}], "size": 2, "search_after": [4990]})
    check("search_after", [h["_source"]["n"] for h in r["hits"]["hits"]] == [4991, 4992], r["hits"])
    try:
        es.search(index="par7", body={"from": 9995, "size": 10})
        check("result window", False)
    except RequestError as e:
        check("result window 400", e.error == "search_phase_execution_exception", e.info)
    page = es.search(index="par7", scroll="1m", size=2000, body={"sort": ["_doc"]})
    seen = len(page["hits"]["hits"])
    sid = page["_scroll_id"]
    while True:
        page = es.scroll(scroll_id=sid, scroll="1m")
        if not page["hits"]["hits"]:
            break
        seen += len(page["hits"]["hits"])
    check("scroll", seen == 5000, seen)
    c = es.clear_scroll(scroll_id=sid)
    check("clear_scroll", c["succeeded"] and c["num_freed"] == 1, c)
    pit = es.open_point_in_time(index="par7", keep_alive="1m")
    check("7.17 pit answer", list(pit.keys()) == ["id"], pit)
    es.index(index="par7", id="after-pit", body={"n": -5}, refresh=True)
    seen, after = set(), None
    for _ in range(20):
        body = {"pit": {"id": pit["id"], "keep_alive": "1m"}, "sort": [{"n": "asc"}], "size": 1000}
        if after:
            body["search_after"] = after
        page = es.search(body=body)
        if not page["hits"]["hits"]:
            break
        seen.update(h["_id"] for h in page["hits"]["hits"])
        after = page["hits"]["hits"][-1]["sort"]
    check("pit + search_after: frozen view", len(seen) == 5000 and "after-pit" not in seen, len(seen))
    check("_shard_doc tiebreaker", len(after) == 2, after)
    closed = es.close_point_in_time(body={"id": pit["id"]})
    check("close pit", closed == {"succeeded": True, "num_freed": 1}, closed)
    es.delete(index="par7", id="after-pit", refresh=True)
    c = es.count(index="par7", body={"query": {"range": {"n": {"lt": 100}}}})
    check("count query", c["count"] == 100)
    m = es.mget(index="par7", body={"ids": ["1", "nope"]})
    check("mget", m["docs"][0]["found"] and not m["docs"][1]["found"] and m["docs"][0]["_type"] == "_doc", m)
    ms = es.msearch(body=[{"index": "par7"}, {"query": {"term": {"n": 7}}}, {"index": "nothere"}, {}])
    check("msearch", [r["status"] for r in ms["responses"]] == [200, 404] and
          ms["responses"][0]["hits"]["hits"][0]["_id"] == "7" and
          ms["responses"][1]["error"]["type"] == "index_not_found_exception", ms)


def t_aliases_cat():
    es.indices.create(index="v1")
    es.indices.create(index="v2")
    es.indices.put_alias(index="v1", name="live")
    es.indices.update_aliases(body={"actions": [{"remove": {"index": "v1", "alias": "live"}}, {"add": {"index": "v2", "alias": "live"}}]})
    a = es.indices.get_alias(name="live")
    check("alias swap", list(a.keys()) == ["v2"], a)
    try:
        es.indices.update_aliases(body={"actions": [{"add": {"index": "v1", "alias": "other"}}, {"remove": {"index": "v1", "alias": "nothere"}}]})
        check("atomic aliases", False)
    except NotFoundError as e:
        check("atomic aliases 404", e.error == "aliases_not_found_exception", e.info)
    check("nothing applied", "other" not in es.indices.get_alias(index="v1")["v1"]["aliases"])
    es.index(index="live", id="1", body={"a": 1}, refresh=True)
    check("write through alias", es.count(index="v2")["count"] == 1)
    rows = es.cat.indices(index="par7", format="json")
    check("cat indices json", rows[0]["docs.count"] == "5000" and rows[0]["health"] == "yellow", rows)
    text = es.cat.indices(v=True)
    check("cat indices text", text.splitlines()[0].split()[:3] == ["health", "status", "index"], text)
    es.indices.delete(index="v*")
    check("wildcard delete (7.x allows)", not es.indices.exists(index="v1") and not es.indices.exists(index="v2"))


def t_dynamic_mapping():
    es.index(index="dyn", id="1", body={"n": 1, "when": "2024-05-01T10:00:00Z", "s": "text", "o": {"x": 1}, "f": 1.0, "e": {}})
    m = es.indices.get_mapping(index="dyn")["dyn"]["mappings"]["properties"]
    check("dynamic long", m["n"] == {"type": "long"})
    check("dynamic date", m["when"] == {"type": "date"})
    check("1.0 is a float", m["f"] == {"type": "float"}, m.get("f"))
    check("empty object", m["e"] == {"type": "object"}, m.get("e"))
    check("dynamic text+keyword", m["s"] == {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}})
    for body, reason in [({"n": {"a": 1}}, "failed to parse field [n] of type [long] in document with id '2'. Preview of field's value: '{a=1}'"),
                         ({"n": "abc"}, "failed to parse field [n] of type [long] in document with id '2'. Preview of field's value: 'abc'"),
                         ({"o": 5}, "object mapping for [o] tried to parse field [o] as object, but found a concrete value")]:
        try:
            es.index(index="dyn", id="2", body=body)
            check(f"mapping refusal {body}", False)
        except RequestError as e:
            check(f"mapping refusal {body}", e.error == "mapper_parsing_exception" and e.info["error"]["reason"] == reason, e.info)


for name, fn in [("info", t_info), ("indices", t_indices), ("versions", t_versions), ("bulk", t_bulk_helpers),
                 ("search", t_search), ("aliases", t_aliases_cat), ("dynamic", t_dynamic_mapping)]:
    run(name, fn)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
