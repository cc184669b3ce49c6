#!/usr/bin/env bash
# tar over a backend-less FUSE tree of the tree's shape against tar over a
# tmpfs copy, under several kernel cache policies (docs/performance.md).
# Run as root: scripts/bench/fusefloor.sh [N [PAIRS]]   (default 1000 5)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[[ $(id -u) == 0 ]] || { echo "fusefloor.sh: run as root" >&2; exit 1; }
work=$(mktemp -d /tmp/inetcr-fusefloor.XXXXXX)
trap 'rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/fusefloor" ./scripts/bench/fusefloor)
unshare --mount --propagation private python3 "$here/fusefloor.py" "$work/fusefloor" "$work" "${1:-1000}" "${2:-5}"
