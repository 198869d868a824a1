#!/usr/bin/env bash
# run_fidelity.sh FLAVOUR: start the ES test server in FLAVOUR (private data dir, free port),
# run the official client's fidelity checks for that flavour against it, stop the server.
#   es7 -> fidelity_es7.py  (Debian python3-elasticsearch 7.17, /usr/bin/python3)
#   es8 -> fidelity_es8.mjs (npm @elastic/elasticsearch 8.19.1)
#   os2 -> fidelity_os2.mjs (npm @opensearch-project/opensearch 3.5.1)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
flavour="${1:?usage: run_fidelity.sh es7|es8|os2}"
source "$here/lib.sh"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/esd-fidelity.XXXXXX")"
trap 'esd_stop_all; rm -rf "$tmp"' EXIT
esd_start S "$flavour" "$tmp/data"
url="http://127.0.0.1:$ESD_PORT_S"
case "$flavour" in
  es7) timeout 300 /usr/bin/python3 "$here/fidelity_es7.py" "$url" ;;
  es8) timeout 300 node "$here/fidelity_es8.mjs" "$url" ;;
  os2) timeout 300 node "$here/fidelity_os2.mjs" "$url" ;;
  *) echo "unknown flavour $flavour" >&2; exit 2 ;;
esac
