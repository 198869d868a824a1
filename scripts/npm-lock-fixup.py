#!/usr/bin/env python3
"""Adds the platform-specific optional @duckdb/node-bindings-* entries that npm 11 leaves
out of package-lock.json when the registry mirror only carries linux-x64 builds. Without
them `npm ci` refuses the lock file. Run after any `npm install` that rewrites the lock."""
import json

PLAT = {
    "darwin-arm64": (["darwin"], ["arm64"], None), "darwin-x64": (["darwin"], ["x64"], None),
    "linux-arm64": (["linux"], ["arm64"], ["glibc"]), "linux-arm64-musl": (["linux"], ["arm64"], ["musl"]),
    "linux-x64": (["linux"], ["x64"], ["glibc"]), "linux-x64-musl": (["linux"], ["x64"], ["musl"]),
    "win32-arm64": (["win32"], ["arm64"], None), "win32-x64": (["win32"], ["x64"], None),
}
lock = json.load(open("package-lock.json"))
pk = lock["packages"]
for parent, meta in list(pk.items()):
    for name, ver in (meta.get("optionalDependencies") or {}).items():
        key = "node_modules/" + name
        if key in pk or "node-bindings-" not in name:
            continue
        os_, cpu, libc = PLAT[name.split("node-bindings-")[1]]
        entry = {"version": ver, "optional": True, "os": os_, "cpu": cpu}
        if libc:
            entry["libc"] = libc
        pk[key] = entry
with open("package-lock.json", "w") as f:
    json.dump(lock, f, indent=2)
    f.write("\n")
