# A socket holder for inetcr's tests: a process we did not write the socket
# code of (python3's socket module) that makes and holds sockets on request.
# It reads one JSON request per line on stdin and answers one JSON line.
import ctypes, json, os, resource, socket, struct, sys, threading

libc = ctypes.CDLL(None, use_errno=True)

# Hold as many sockets as root may (CAP_SYS_RESOURCE raises the hard
# limit), or else as the hard limit allows.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
try:
    resource.setrlimit(resource.RLIMIT_NOFILE, (131072, 131072))
except (ValueError, OSError):
    resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))

socks = {}
flippers = {}

def flip(s, level, opt, values, stop, out):
    # Sets the option to each value in turn and reads it back at once:
    # a value it did not set means another party (the tree) put an old
    # one back.
    i = 0
    while not stop.is_set():
        v = values[i % len(values)]
        s.setsockopt(level, opt, v)
        for _ in range(3):
            got = s.getsockopt(level, opt)
            if got != v:
                out["foreign"] += 1
        i += 1
    out["iterations"] = i

def sock(req):
    return socks[req["fd"]]

def reply(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()

TYPES = {
    "udp": (socket.SOCK_DGRAM, socket.IPPROTO_UDP),
    "udplite": (socket.SOCK_DGRAM, 136),
    "tcp": (socket.SOCK_STREAM, socket.IPPROTO_TCP),
}

def handle(req):
    op = req["op"]
    if op == "socket":
        kind = req["type"]
        if kind.startswith("raw"):
            typ, proto = socket.SOCK_RAW, int(kind[3:] or 17)
        else:
            typ, proto = TYPES[kind]
        family = socket.AF_INET6 if req.get("family") == 6 else socket.AF_INET
        s = socket.socket(family, typ, proto)
        socks[s.fileno()] = s
        return dict(fd=s.fileno(), inode=os.fstat(s.fileno()).st_ino)
    if op == "many":
        out = []
        family = socket.AF_INET6 if req.get("family") == 6 else socket.AF_INET
        typ, proto = TYPES[req.get("type", "udp")]
        for _ in range(req["count"]):
            s = socket.socket(family, typ, proto)
            if req.get("bind"):
                s.bind((req["bind"], 0))
            socks[s.fileno()] = s
            out.append(os.fstat(s.fileno()).st_ino)
        return dict(inodes=out)
    s = sock(req)
    if op == "setsockopt":
        v = req["value"]
        if isinstance(v, str):
            v = bytes.fromhex(v)
        s.setsockopt(req["level"], req["opt"], v)
        return {}
    if op == "getsockopt":
        n = req.get("len", 0)
        if n:
            return dict(hex=s.getsockopt(req["level"], req["opt"], n).hex())
        return dict(value=s.getsockopt(req["level"], req["opt"]))
    if op == "attach_filter":
        # struct sock_fprog: the length in instructions, then a pointer
        # to them (python's setsockopt cannot build it).
        ins = bytes.fromhex(req["insns"])
        buf = ctypes.create_string_buffer(ins, len(ins))
        s.setsockopt(socket.SOL_SOCKET, 26, struct.pack("HxxxxxxP", len(ins) // 8, ctypes.addressof(buf)))
        return {}
    if op == "get_filter":
        # SO_GET_FILTER counts instructions, not bytes: ask for the count,
        # then for that many (python's getsockopt cannot say so).
        fd = s.fileno()
        n = ctypes.c_uint32(0)
        if libc.getsockopt(fd, socket.SOL_SOCKET, 26, None, ctypes.byref(n)) != 0:
            raise OSError(ctypes.get_errno(), "SO_GET_FILTER")
        buf = ctypes.create_string_buffer(8 * n.value + 8)
        if n.value and libc.getsockopt(fd, socket.SOL_SOCKET, 26, buf, ctypes.byref(n)) != 0:
            raise OSError(ctypes.get_errno(), "SO_GET_FILTER")
        return dict(hex=buf.raw[:8 * n.value].hex())
    if op == "msfilter":
        # getsockopt(MCAST_MSFILTER) of one membership: struct group_filter
        # (ifindex, the group as a sockaddr_storage, mode, number of
        # sources, then the sources), which the kernel reads and fills.
        fam = socket.AF_INET6 if ":" in req["group"] else socket.AF_INET
        def storage(addr):
            if fam == socket.AF_INET:
                b = struct.pack("H", fam) + b"\0\0" + socket.inet_aton(addr)
            else:
                b = struct.pack("H", fam) + b"\0" * 6 + socket.inet_pton(fam, addr)
            return b.ljust(128, b"\0")
        room = 64
        head = struct.pack("Ixxxx", req["ifindex"]) + storage(req["group"]) + struct.pack("II", 0, room)
        buf = ctypes.create_string_buffer(head + b"\0" * (128 * room), len(head) + 128 * room)
        n = ctypes.c_uint32(len(buf))
        level = socket.IPPROTO_IP if fam == socket.AF_INET else socket.IPPROTO_IPV6
        if libc.getsockopt(s.fileno(), level, 48, buf, ctypes.byref(n)) != 0:
            raise OSError(ctypes.get_errno(), "MCAST_MSFILTER")
        mode, count = struct.unpack_from("II", buf.raw, 136)
        srcs = []
        for i in range(min(count, room)):
            off = 144 + 128 * i
            if fam == socket.AF_INET:
                srcs.append(socket.inet_ntoa(buf.raw[off + 4:off + 8]))
            else:
                srcs.append(socket.inet_ntop(fam, buf.raw[off + 8:off + 24]))
        return dict(mode=mode, sources=srcs)
    if op == "recv_cmsg":
        # One datagram, and the (level, type) of each control message the
        # kernel attached (timestamps, packet info).
        s.settimeout(req.get("timeout", 5))
        try:
            data, anc, flags, addr = s.recvmsg(65536, 4096)
        finally:
            s.settimeout(None)
        return dict(len=len(data), cmsgs=[[lvl, typ] for lvl, typ, _ in anc])
    if op == "bind":
        # An IPv6 scope id goes in the tuple: python3 drops a "%eth0" of
        # the address string.
        s.bind((req["addr"], req["port"], 0, req["scope"]) if "scope" in req else (req["addr"], req["port"]))
        return dict(local=list(s.getsockname()))
    if op == "connect":
        s.connect((req["addr"], req["port"]))
        return {}
    if op == "listen":
        s.listen(req.get("backlog", 5))
        return {}
    if op == "join":
        # struct ip_mreqn: group, address, ifindex
        mreq = socket.inet_aton(req["group"]) + socket.inet_aton("0.0.0.0") + struct.pack("=i", req["ifindex"])
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        return {}
    if op == "join_source":
        # struct ip_mreq_source: group, interface address, source
        mreq = socket.inet_aton(req["group"]) + socket.inet_aton(req["iface_addr"]) + socket.inet_aton(req["source"])
        s.setsockopt(socket.IPPROTO_IP, 39, mreq)  # IP_ADD_SOURCE_MEMBERSHIP
        return {}
    if op == "join6":
        # struct ipv6_mreq: group, ifindex (IPV6_JOIN_GROUP)
        mreq = socket.inet_pton(socket.AF_INET6, req["group"]) + struct.pack("=i", req["ifindex"])
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        return {}
    if op == "leave6":
        mreq = socket.inet_pton(socket.AF_INET6, req["group"]) + struct.pack("=i", req["ifindex"])
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_LEAVE_GROUP, mreq)
        return {}
    if op == "join6_source":
        # struct group_source_req: interface, then two sockaddr_storage
        # (group, source) aligned to 8 (MCAST_JOIN_SOURCE_GROUP)
        def storage(a):
            b = struct.pack("=HHI", socket.AF_INET6, 0, 0) + socket.inet_pton(socket.AF_INET6, a) + struct.pack("=I", 0)
            return b + bytes(128 - len(b))
        gsr = struct.pack("=I4x", req["ifindex"]) + storage(req["group"]) + storage(req["source"])
        s.setsockopt(socket.IPPROTO_IPV6, 46, gsr)
        return {}
    if op == "peername":
        return dict(peer=list(s.getpeername()))
    if op == "sockname":
        return dict(local=list(s.getsockname()))
    if op == "flip_start":
        stop, out = threading.Event(), dict(foreign=0, iterations=0)
        th = threading.Thread(target=flip, args=(s, req["level"], req["opt"], req["values"], stop, out))
        flippers[req["fd"]] = (th, stop, out)
        th.start()
        return {}
    if op == "flip_stop":
        th, stop, out = flippers.pop(req["fd"])
        stop.set()
        th.join()
        return out
    if op == "close":
        del socks[req["fd"]]
        s.close()
        return {}
    raise ValueError("unknown op " + op)

for line in sys.stdin:
    try:
        reply(ok=True, **handle(json.loads(line)))
    except Exception as e:  # the test reads the error
        reply(ok=False, error="%s: %s" % (type(e).__name__, e), errno=getattr(e, "errno", None))
