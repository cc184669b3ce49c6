#!/usr/bin/env bash
# Installs what inetcr's tests drive: socat and python3 make the sockets,
# ss and ip (iproute2) check them, tcpdump counts IGMP reports, fusermount3 (fuse3) serves non-root
# mounts, GNU tar and coreutils are the tools under test; setpriv and unshare
# (util-linux) and a set-uid passwd make the other users of the trust tests;
# avahi-daemon is the real program whose IPv6 mDNS socket joins ff02::fb.
# Runs as root.
set -euo pipefail
need=()
for pair in socat:socat tcpdump:tcpdump fusermount3:fuse3 ss:iproute2 ip:iproute2 tar:tar python3:python3 cp:coreutils setpriv:util-linux unshare:util-linux passwd:passwd avahi-daemon:avahi-daemon; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair##*:}")
done
# Tests that run holders as other users need a python3 outside root's home
# (a pyenv shim under /root is not theirs to run): Debian's.
/usr/bin/python3 -c 'import json, resource, socket, struct' 2>/dev/null || need+=(python3)
if ((${#need[@]})); then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${need[@]}" >/dev/null
fi
