#!/usr/bin/env bash
# The benchmark harness of docs/performance.md. Run as root:
#
#   scripts/bench/run.sh [-p PAIRS] [-o FILE] [--tar-max N] [--tar-copy-max N] [--only M,...]
#                        [--family 4|6] [--backend B,...] [--profile] [--heap] [N...]
#
# For each N (default: 1000 10000) it makes N bound UDP sockets (AF_INET, or
# AF_INET6 bound to 2001:db8:K::1 with --family 6; the AF_INET6 half) held by
# several python3 processes inside a private network and mount namespace,
# mounts the tree with `inetcr mount`, and times, in PAIRS (default 5) pairs
# alternating the two sides: ls -f vs ss -uanp; a first read of ipopt/ttl vs
# ss -uanp 'sport = :PORT'; tar -c over the tree vs over a tmpfs copy (N up
# to --tar-max, default 10000; above --tar-copy-max, default 10000, tar over
# the tree alone, its first run timed too); inetcr dump --all vs inetcr-floor. It also
# records the mount's peak RSS and open fds (the mount shows the bench's own
# namespace, --netns self). netns: ls -f of a mount of every namespace with
# 100 namespaces of 100 sockets vs the sum of ss -uanp in each (nsenter).
# --backend (auto, stock, exact; comma-separated, default auto) mounts and
# dumps with each backend in turn over the same sockets; with a backend
# other than stock, readx times its first read against a --backend stock
# mount's, and with exact, reader times the exact reader alone
# (inetcr-floor -exact: images built, nothing written) against the floor.
# --only picks measures (ls, read, readx, tar, dump, reader, netns; default all). The Markdown table is printed
# and written to FILE (default /tmp/inetcr-bench.md; raw samples in
# FILE.json). --profile records perf profiles (cpu-clock) of the mount
# during ls, first reads and tar, and of dump --all and the floor, at the
# largest N (perf comes from Debian's linux-perf), into FILE.profiles/.
# --heap writes Go heap profiles of the mount after the first and the repeat
# tars into FILE.profiles/ (go tool pprof -sample_index=inuse_space).
set -euo pipefail

usage() { sed -n '2,28s/^# \{0,1\}//p' "$0"; exit "${1:-0}"; }

out=/tmp/inetcr-bench.md
pass=()
ns=()
profile=0
while (($#)); do
	case $1 in
	-h | --help) usage ;;
	-p | --pairs) pass+=(--pairs "$2"); shift 2 ;;
	-o | --out) out=$2; shift 2 ;;
	--tar-max) pass+=(--tar-max "$2"); shift 2 ;;
	--tar-copy-max) pass+=(--tar-copy-max "$2"); shift 2 ;;
	--heap) pass+=(--heap); shift ;;
	--only) pass+=(--only "$2"); shift 2 ;;
	--family) pass+=(--family "$2"); shift 2 ;;
	--backend) pass+=(--backend "$2"); shift 2 ;;
	--profile) profile=1; pass+=(--profile); shift ;;
	[0-9]*) ns+=("$1"); shift ;;
	*) echo "run.sh: unknown argument $1" >&2; usage 2 ;;
	esac
done
if [[ $(id -u) != 0 ]]; then
	echo "run.sh: run as root (a private network namespace, FUSE mounts, pidfd_getfd)" >&2
	exit 1
fi

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
"$root/scripts/deps.sh"
for tool in unshare python3 ss tar; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing" >&2; exit 1; }
done
if ((profile)) && ! command -v perf >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >/dev/null
fi

rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$root" --no-optional-locks status --porcelain 2>/dev/null | grep -v '^??' || true) ]]; then
	rev+=" with uncommitted changes"
fi

work=$(mktemp -d /tmp/inetcr-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/inetcr" ./cmd/inetcr && go build -o "$work/inetcr-floor" ./internal/benchfloor/cmd/inetcr-floor)
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")

unshare --net --mount --propagation private \
	python3 "$here/bench.py" --work "$work" --inetcr "$work/inetcr" --floor "$work/inetcr-floor" \
	--holder "$root/internal/netnstest/holder.py" --out "$out" --rev "$rev" "${pass[@]}" "${ns[@]}"
