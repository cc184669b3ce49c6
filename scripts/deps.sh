#!/usr/bin/env bash
# Installs what inetcr's tests drive: socat, ptp4l (linuxptp) and python3 make the sockets,
# ss and ip (iproute2) check them, tcpdump counts IGMP reports, fusermount3 (fuse3) serves non-root
# mounts, GNU tar (with gzip) and coreutils are the tools under test; setpriv and unshare
# (util-linux) and a set-uid passwd make the other users of the trust tests.
# The service tests drive mount(8) with fuse3's mount.fuse3, make install,
# man -l (man-db), systemd-analyze verify (systemd) and git (inetcr version).
# The exact reader's tests: clang-14, llvm-strip (llvm) and the libbpf
# headers (libbpf-dev) compile its BPF program again to compare it with the
# committed object; ptp4l (linuxptp), avahi-daemon, mcfirst (ssmping), iperf
# (iperf 2) and socat are the real programs it reads.
# The netns tests: nsenter enters their namespaces; smcroute is a real program
# that keeps its multicast joins on an unbound socket.
# Runs as root.
set -euo pipefail
need=()
pairs=(
	socat:socat
	gzip:gzip
	tcpdump:tcpdump
	fusermount3:fuse3
	ss:iproute2
	ip:iproute2
	tar:tar
	python3:python3
	cp:coreutils
	setpriv:util-linux
	unshare:util-linux
	passwd:passwd
	mount:mount
	mount.fuse3:fuse3
	make:make
	install:coreutils
	man:man-db
	systemd-analyze:systemd
	git:git
	clang-14:clang-14
	llvm-strip:llvm
	ptp4l:linuxptp
	avahi-daemon:avahi-daemon
	mcfirst:ssmping
	iperf:iperf
	nsenter:util-linux
	smcrouted:smcroute


)
for pair in "${pairs[@]}"; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair##*:}")
done
# Tests that run holders as other users need a python3 outside root's home
# (a pyenv shim under /root is not theirs to run): Debian's.
/usr/bin/python3 -c 'import json, resource, socket, struct' 2>/dev/null || need+=(python3)
[[ -f /usr/include/bpf/bpf_helpers.h ]] || need+=(libbpf-dev)
if ((${#need[@]})); then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${need[@]}" >/dev/null
fi
