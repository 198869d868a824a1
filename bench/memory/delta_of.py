#!/usr/bin/python3
"""delta_of.py PARQUET SHAPE DIR: a Delta table in DIR made of one data file of
bench/memory/gen_memory.mjs (hard-linked, or copied across file systems), for the sync-pg
part of `make bench-memory`: one commit (protocol 1/2, metaData with the shape's schema, one
add with numRecords) written by hand from the Delta protocol, and the model file that maps
every column (DIR/model). SHAPE: flat4, flat12 or nested."""
import json
import os
import shutil
import sys
import time


def field(name, typ):
    return {"name": name, "type": typ, "nullable": True, "metadata": {}}


SCHEMAS = {
    "flat4": [field("id", "long"), field("dbl", "decimal(21,1)"), field("s", "string"),
              field("ts", "timestamp_ntz")],
    "flat12": [field("id", "long"), field("dbl", "decimal(21,1)"), field("s", "string"),
               field("ts", "timestamp_ntz"), field("flag", "boolean"), field("i32", "integer"),
               field("amount", "decimal(18,2)"), field("note", "string"), field("dt", "date"),
               field("i16", "short"), field("ratio", "double"), field("digest", "string")],
    "nested": [field("id", "long"),
               field("items", {"type": "array", "containsNull": True, "elementType": {
                   "type": "struct", "fields": [field("a", "long"), field("b", "string")]}})],
}


def main():
    if len(sys.argv) != 4 or sys.argv[2] not in SCHEMAS:
        sys.exit("usage: delta_of.py PARQUET flat4|flat12|nested DIR")
    src, shape, out = sys.argv[1:]
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.join(out, "_delta_log"))
    name = os.path.basename(src)
    dst = os.path.join(out, name)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
    # gen_memory.mjs names its files SHAPE_CODEC_ROWS.parquet: numRecords for the stats
    tail = name.rsplit(".", 1)[0].rsplit("_", 1)[-1]
    rows = int(tail) if tail.isdigit() else 0
    fields = SCHEMAS[shape]
    ntz = any(f["type"] == "timestamp_ntz" for f in fields)
    protocol = ({"minReaderVersion": 3, "minWriterVersion": 7, "readerFeatures": ["timestampNtz"],
                 "writerFeatures": ["timestampNtz"]} if ntz
                else {"minReaderVersion": 1, "minWriterVersion": 2})
    now = int(time.time() * 1000)
    actions = [
        {"commitInfo": {"timestamp": now, "operation": "WRITE",
                        "engineInfo": "dip bench/memory/delta_of.py"}},
        {"protocol": protocol},
        {"metaData": {"id": "bench-memory-%s" % shape, "format": {"provider": "parquet", "options": {}},
                      "schemaString": json.dumps({"type": "struct", "fields": fields}),
                      "partitionColumns": [], "configuration": {}, "createdTime": now}},
        {"add": {"path": name, "partitionValues": {}, "size": os.path.getsize(dst),
                 "modificationTime": now, "dataChange": True,
                 "stats": json.dumps({"numRecords": rows}) if rows else None}},
    ]
    if not rows:
        del actions[3]["add"]["stats"]
    with open(os.path.join(out, "_delta_log", "%020d.json" % 0), "w") as f:
        for a in actions:
            f.write(json.dumps(a) + "\n")
    with open(os.path.join(out, "model"), "w") as f:
        f.write("# bench-memory: every column of the %s shape, hk = id\n" % shape)
        f.write("table mem_%s\nhk column id\ncolumns *\n" % shape)


main()
