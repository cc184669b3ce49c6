#!/usr/bin/env python3
"""The measurement half of scripts/bench/run.sh (docs/performance.md).

run.sh builds inetcr and inetcr-floor and starts this script inside a private
network and mount namespace (unshare --net --mount --propagation private).
For each N it makes N bound UDP sockets (AF_INET, or AF_INET6 with
--family 6) held by several python3 holder processes
(internal/netnstest/holder.py), mounts the tree with
`inetcr mount`, and measures, alternating the two sides of each pair:

  ls        ls -f MNT                          vs  ss -uanp
  read      cat MNT/INODE/ipopt/ttl (first)    vs  ss -uanp 'sport = :PORT'
  tar       tar -cf - -C MNT . | cat           vs  the same over a tmpfs copy
  dump      inetcr dump --all -o DIR           vs  inetcr-floor

and the mount process's peak RSS (VmHWM) and open fds after each measure.
It prints a Markdown table and writes it (and the raw samples as JSON).
"""
import argparse
import json
import math
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time

PER_ADDRESS = 10000  # sockets bound to one 127.0.K.1 (28k ephemeral ports each)
PER_HOLDER = 25000   # sockets per holder process
MIN_HOLDERS = 4
SETTLE = 0.3         # idle seconds before each timed run: > the tree's 200 ms cache TTL

TARGETS = {
    "ls": ("ls -f MNT", "ss -uanp", 1.0),
    "read": ("first read of ipopt/ttl", "ss -uanp 'sport = :PORT'", 1.0),
    "tar": ("tar -c over MNT", "tar -c over a tmpfs copy", 3.0),
    "dump": ("inetcr dump --all -o DIR", "inetcr-floor", 2.0),
    "netns": ("ls -f MNT of 100 namespaces x 100 sockets", "sum of ss -uanp in each (nsenter)", 1.0),
    "readx": ("first read of ipopt/ttl on this mount", "the same on a --backend stock mount", 1.0),
    "reader": ("the exact reader alone (inetcr-floor -exact)", "inetcr-floor", 0.1),
}
# Issue 11's targets for the exact reader, where they differ from the stock engine's.
BACKEND_TARGETS = {"exact": {"ls": 0.5, "dump": 0.25}}
ORDER = ["ls", "read", "readx", "tar", "dump", "reader", "netns"]
MEM_ORDER = ["ls", "read", "tar", "dump"]


def target(k, backend):
    return BACKEND_TARGETS.get(backend, {}).get(k, TARGETS[k][2])
NETNS_COUNT, NETNS_SOCKETS = 100, 100


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run(argv, ok=(0,), timeout=1800, out=subprocess.DEVNULL):
    """Runs argv and returns its wall time in seconds."""
    t0 = time.perf_counter()
    r = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE, timeout=timeout)
    dt = time.perf_counter() - t0
    if r.returncode not in ok:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), r.returncode, r.stderr.decode()[-2000:]))
    return dt


def run_err(argv, timeout=1800):
    """Runs argv and returns its wall time in seconds and its stderr."""
    t0 = time.perf_counter()
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), r.returncode, r.stderr[-2000:]))
    return dt, r.stderr


def parse_duration(s):
    """A Go time.Duration as printed ("1.5s", "212.3ms", "950µs") in seconds."""
    for unit, f in (("ms", 1e-3), ("µs", 1e-6), ("us", 1e-6), ("ns", 1e-9), ("s", 1.0)):
        if s.endswith(unit):
            return float(s[:-len(unit)]) * f
    raise ValueError("not a duration: %r" % s)


def first_read(mnt, inode):
    """Times cat MNT/INODE/ipopt/ttl, which must print a number."""
    path = "%s/%d/ipopt/ttl" % (mnt, inode)
    t0 = time.perf_counter()
    r = subprocess.run(["cat", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if r.returncode != 0 or not r.stdout.strip().isdigit():
        raise RuntimeError("cat %s: %r %r" % (path, r.stdout, r.stderr))
    return dt


# ---- sockets -------------------------------------------------------------

class Holder:
    """A python3 process holding sockets (internal/netnstest/holder.py)."""

    def __init__(self, script, prefix=()):
        self.p = subprocess.Popen(list(prefix) + [sys.executable, "-u", script], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)

    def call(self, **req):
        self.p.stdin.write(json.dumps(req) + "\n")
        self.p.stdin.flush()
        r = json.loads(self.p.stdout.readline())
        if not r.get("ok"):
            raise RuntimeError("holder %d: %s" % (self.p.pid, r.get("error")))
        return r

    def stop(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def v6_address(k):
    """The k-th IPv6 address to bind to: 2001:db8:K::1, on lo."""
    return "2001:db8:%x::1" % k


def make_sockets(n, script, family=4):
    """n bound UDP sockets over max(4, n/25000) holders, 10,000 per address:
    127.0.K.1 for AF_INET, 2001:db8:K::1 (added to lo) for AF_INET6."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < PER_HOLDER + 256:
        # Root may raise the hard limit (the holders raise their soft limit
        # to it), unless it lacks CAP_SYS_RESOURCE: then use more holders.
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, PER_HOLDER + 256))
        except (ValueError, OSError):
            pass
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    per_holder = min(PER_HOLDER, hard - 256)
    nh = max(MIN_HOLDERS, math.ceil(n / per_holder))
    per = [n // nh + (1 if i < n % nh else 0) for i in range(nh)]
    holders, inodes, k = [], [], 1
    for count in per:
        h = Holder(script)
        holders.append(h)
        while count > 0:
            c = min(count, PER_ADDRESS)
            if family == 6:
                subprocess.run(["ip", "-6", "addr", "replace", v6_address(k) + "/128", "dev", "lo", "nodad"], check=True)
                inodes += h.call(op="many", count=c, family=6, bind=v6_address(k))["inodes"]
            else:
                inodes += h.call(op="many", count=c, bind="127.0.%d.%d" % (k // 256, k % 256 or 1))["inodes"]
            count -= c
            k += 1
    return holders, inodes, nh


def udp_ports(family=4):
    """inode -> (address, port) from /proc/net/udp or udp6 (this
    namespace's); the address as the file writes it."""
    out = {}
    with open("/proc/net/udp6" if family == 6 else "/proc/net/udp") as f:
        next(f)
        for line in f:
            fl = line.split()
            addr, port = fl[1].split(":")
            out[int(fl[9])] = (addr, int(port, 16))
    return out


# ---- the mount -----------------------------------------------------------

class Mount:
    def __init__(self, inetcr, mnt, logpath, heapdir=None, netns="self"):
        os.makedirs(mnt, exist_ok=True)
        self.mnt = mnt
        self.logf = open(logpath, "w")
        self.heapdir = heapdir
        env = dict(os.environ)
        if heapdir:
            # fs.Run writes a heap profile there on SIGUSR1 (docs/performance.md)
            self.heapfile = os.path.join(heapdir, "heap.pb.gz")
            env["INETCR_HEAPPROFILE"] = self.heapfile
        # One namespace (the bench's own) for the single-namespace
        # measures: ss -uanp there lists the same sockets.
        argv = list(inetcr) if isinstance(inetcr, (list, tuple)) else [inetcr]
        self.p = subprocess.Popen(argv + ["mount", "--netns", netns, mnt], stdout=self.logf, stderr=self.logf, env=env)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise RuntimeError("inetcr mount exited %d; see %s" % (self.p.returncode, logpath))
            if self.mounted():
                try:
                    os.statvfs(mnt)  # served without a listing, unlike ls
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("inetcr mount: not mounted after 30 s")

    def mounted(self):
        with open("/proc/self/mountinfo") as f:
            return any(l.split()[4] == self.mnt and " - fuse" in l for l in f)

    def status(self):
        st = {}
        with open("/proc/%d/status" % self.p.pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmHWM", "VmRSS"):
                    st[k] = int(v.split()[0]) // 1024  # MiB
        st["fds"] = len(os.listdir("/proc/%d/fd" % self.p.pid))
        return st

    def heap(self, name):
        """Has the mount write a heap profile, kept as HEAPDIR/heap-NAME.pb.gz."""
        if not self.heapdir:
            return
        try:
            os.unlink(self.heapfile)
        except FileNotFoundError:
            pass
        self.p.send_signal(signal.SIGUSR1)
        deadline = time.time() + 30
        while time.time() < deadline and not os.path.exists(self.heapfile):
            time.sleep(0.1)
        time.sleep(0.5)  # written and renamed whole; let the GC it ran settle
        if os.path.exists(self.heapfile):
            dst = os.path.join(self.heapdir, "heap-%s.pb.gz" % name)
            os.replace(self.heapfile, dst)
            log("  heap profile: %s" % dst)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.logf.close()


# ---- measures ------------------------------------------------------------

def pairs(n_pairs, side_a, side_b, prepare=None):
    """Times n_pairs (a, b) pairs, alternating which side runs first."""
    out = []
    for i in range(n_pairs):
        t = {}
        for side in ("a", "b") if i % 2 == 0 else ("b", "a"):
            if side == "b" and side_b is None:
                continue
            if prepare:
                prepare(i, side)
            time.sleep(SETTLE)
            t[side] = (side_a if side == "a" else side_b)(i)
        out.append(t)
        log("    pair %d: %.4f s vs %s" % (i + 1, t["a"], "%.4f s" % t["b"] if "b" in t else "-"))
    return out


def summary(samples):
    a = [p["a"] for p in samples]
    b = [p["b"] for p in samples if "b" in p]
    if not b:  # no reference side
        return {"a": statistics.median(a), "b": None, "ratio": None, "samples": samples}
    r = [p["a"] / p["b"] for p in samples]
    return {"a": statistics.median(a), "b": statistics.median(b), "ratio": statistics.median(r),
            "ratio_min": min(r), "ratio_max": max(r), "samples": samples}


class Profiler:
    """perf record of one process (or one command) around a block."""

    def __init__(self, outdir):
        self.outdir = outdir
        self.reports = {}

    def record(self, name, pid, fn):
        data = os.path.join(self.outdir, "perf-%s.data" % name)
        p = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-g", "-p", str(pid), "-o", data],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        try:
            fn()
        finally:
            p.send_signal(signal.SIGINT)
            p.wait()
        self.report(name, data)

    def command(self, name, argv):
        data = os.path.join(self.outdir, "perf-%s.data" % name)
        subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-g", "-o", data, "--"] + argv,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        self.report(name, data)

    def report(self, name, data):
        out = {}
        for kind, extra in (("self", ["--no-children"]), ("children", ["--children"])):
            r = subprocess.run(["perf", "report", "-i", data, "--stdio", "-g", "none", "--percent-limit", "0.5",
                                "--sort", "symbol"] + extra, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            lines = [l.rstrip() for l in r.stdout.splitlines() if l.strip() and not l.startswith("#")]
            out[kind] = lines[:40]
            with open(os.path.join(self.outdir, "perf-%s-%s.txt" % (name, kind)), "w") as f:
                f.write(r.stdout)
        self.reports[name] = out


def bench_n(n, args, prof):
    """The measures at N sockets, made once, for each backend of
    --backend in turn (one mount each): a result per backend."""
    log("== N = %d" % n)
    t0 = time.time()
    holders, inodes, nh = make_sockets(n, args.holder, args.family)
    log("  %d sockets held by %d processes (%.1f s)" % (len(inodes), nh, time.time() - t0))
    out = []
    try:
        for be in args.backends:
            res = {"n": n, "date": time.strftime("%Y-%m-%d %H:%M"), "rev": args.rev, "backend": be,
                   "holders": nh, "family": "AF_INET6" if args.family == 6 else "AF_INET"}
            t1 = time.time()
            bench_backend(n, be, res, inodes, args, prof)
            res["seconds"] = time.time() - t1
            out.append(res)
    finally:
        for h in holders:
            h.stop()
    return out


def bench_backend(n, be, res, inodes, args, prof):
    """Mounts with `inetcr --backend BE` and runs the measures on it."""
    log("  backend %s" % be)
    inetcr = [args.inetcr, "--backend", be]
    mnt = os.path.join(args.work, "mnt")
    m = Mount(inetcr, mnt, os.path.join(args.work, "mount-%d-%s.log" % (n, be)), args.heapdir)
    time.sleep(1)
    mem = {"idle": m.status()}
    res["mem"] = mem
    try:
        ports = udp_ports(args.family)
        log("  mounted; idle: %s" % mem["idle"])
        meas = {}
        res["measures"] = meas
        P = args.pairs
        dumpdir = os.path.join(args.tmpfs, "dump")

        if "ls" in args.only:
            log("  ls -f MNT vs ss -uanp")
            meas["ls"] = summary(pairs(P, lambda i: run(["ls", "-f", mnt]), lambda i: run(["ss", "-uanp"])))
            mem["ls"] = m.status()
            listed = len(os.listdir(mnt))  # after the timed runs, so that the first is cold
            if listed < n:
                raise RuntimeError("ls %s: %d entries, want %d" % (mnt, listed, n))

        if "read" in args.only:
            log("  first read of ipopt/ttl vs ss -uanp 'sport = :PORT'")
            picks = [inodes[(2 * i + 1) * len(inodes) // (2 * P)] for i in range(P)]
            meas["read"] = summary(pairs(P, lambda i: first_read(mnt, picks[i]),
                                         lambda i: run(["ss", "-uanp", "sport = :%d" % ports[picks[i]][1]])))
            mem["read"] = m.status()

        if "readx" in args.only and be != "stock":
            # Issue 11: the first read no slower than the stock path. A
            # second mount, on the stock engine, reads the same sockets
            # (others than the read measure's, so that both are first reads).
            log("  first read of ipopt/ttl vs the same on a --backend stock mount")
            picks = [inodes[(2 * i + 1) * len(inodes) // (2 * P) + 1] for i in range(P)]
            mnt2 = os.path.join(args.work, "mnt-stock")
            m2 = Mount([args.inetcr, "--backend", "stock"], mnt2, os.path.join(args.work, "mount-%d-readx.log" % n))
            try:
                time.sleep(1)
                meas["readx"] = summary(pairs(P, lambda i: first_read(mnt, picks[i]), lambda i: first_read(mnt2, picks[i])))
            finally:
                m2.stop()

        if "tar" in args.only:
            if n <= args.tar_max:
                tarcmd = 'tar -cf - -C "$1" . | cat > /dev/null'
                if n <= args.tar_copy_max:
                    log("  tar -c over MNT vs over a tmpfs copy")
                    copy = os.path.join(args.tmpfs, "copy")
                    shutil.rmtree(copy, ignore_errors=True)
                    os.makedirs(copy)
                    t0 = time.time()
                    subprocess.run("tar -cf - -C %s . | tar -xf - -C %s" % (mnt, copy), shell=True, check=False,
                                   stderr=subprocess.DEVNULL)
                    res["tar_first"] = time.time() - t0
                    files = int(subprocess.run("find %s | wc -l" % copy, shell=True, stdout=subprocess.PIPE, text=True).stdout)
                    log("  copied %d entries onto tmpfs in %.1f s" % (files, res["tar_first"]))
                else:
                    # No copy: at 100,000 sockets it would be 4.4 million
                    # files on tmpfs. The first tar is timed on its own and
                    # the pairs time tar over MNT alone.
                    log("  tar -c over MNT (no tmpfs copy above --tar-copy-max)")
                    copy = None
                    res["tar_first"] = run(["sh", "-c", tarcmd, "sh", mnt], ok=(0, 1))
                    files = 0  # not counted: a find over MNT would be one more walk of every file
                    log("  first tar in %.1f s" % res["tar_first"])
                res["tar_entries"] = files
                mem["tar_first"] = m.status()
                m.heap("tar-first-%d" % n)
                # tar exits 1 when a file "changed as we read it" (an mtime that moved)
                ref = (lambda i: run(["sh", "-c", tarcmd, "sh", copy], ok=(0, 1))) if copy else None
                meas["tar"] = summary(pairs(P, lambda i: run(["sh", "-c", tarcmd, "sh", mnt], ok=(0, 1)), ref))
                mem["tar"] = m.status()
                m.heap("tar-%s-%d" % (be, n))
                if copy:
                    shutil.rmtree(copy, ignore_errors=True)

        if "dump" in args.only:
            log("  inetcr dump --all vs inetcr-floor")

            def prep(i, side):
                if side == "a":
                    shutil.rmtree(dumpdir, ignore_errors=True)
            # --netns self: the floor dumps this namespace only (dump's
            # default, all, would take in every namespace of the host)
            meas["dump"] = summary(pairs(P, lambda i: run(inetcr + ["dump", "--all", "--netns", "self", "-o", dumpdir]),
                                         lambda i: run([args.floor]), prepare=prep))
            res["dump_files"] = len(os.listdir(dumpdir))
            mem["dump"] = m.status()
            shutil.rmtree(dumpdir, ignore_errors=True)

        if "reader" in args.only and be == "exact":
            log("  the exact reader alone vs inetcr-floor")
            loads = []

            def reader(i):
                dt, err = run_err([args.floor, "-exact", "-v"])
                # "... (load 212.3ms, list ..." : the program's load, once per command
                loads.append(parse_duration(err.split("(load ", 1)[1].split(",", 1)[0]))
                return dt
            meas["reader"] = summary(pairs(P, reader, lambda i: run([args.floor])))
            res["load"] = {"median": statistics.median(loads), "min": min(loads), "max": max(loads)}
            log("  load of the BPF program: %s" % res["load"])

        time.sleep(2)
        mem["end"] = m.status()
        log("  memory and fds: %s" % mem)

        if prof is not None and n == max(args.ns):
            log("  profiling at N = %d" % n)
            prof.record("ls-%s-%d" % (be, n), m.p.pid, lambda: [run(["ls", "-f", mnt]) for _ in range(3)])

            def reads():
                for ino in inodes[1::max(1, len(inodes) // 20)][:20]:
                    time.sleep(SETTLE)
                    run(["cat", "%s/%d/ipopt/ttl" % (mnt, ino)])
            prof.record("read-%s-%d" % (be, n), m.p.pid, reads)
            prof.command("dump-%s-%d" % (be, n), inetcr + ["dump", "--all", "--netns", "self", "-o", dumpdir])
            shutil.rmtree(dumpdir, ignore_errors=True)
            prof.command("floor-%s-%d" % (be, n), [args.floor])
        if prof is not None and n == max([x for x in args.ns if x <= args.tar_max], default=-1):
            prof.record("tar-%s-%d" % (be, n), m.p.pid, lambda: run(["sh", "-c", 'tar -cf - -C "$1" . | cat > /dev/null', "sh", mnt], ok=(0, 1)))
    finally:
        m.stop()


# ---- report --------------------------------------------------------------

def bench_netns(args):
    """ls -f of a mount of every namespace, NETNS_COUNT namespaces of
    NETNS_SOCKETS bound UDP sockets each (children made by unshare --net),
    against the sum of ss -uanp run in each of them."""
    n = NETNS_COUNT * NETNS_SOCKETS
    log("== %d namespaces x %d sockets" % (NETNS_COUNT, NETNS_SOCKETS))
    res = {"n": n, "date": time.strftime("%Y-%m-%d %H:%M"), "rev": args.rev}
    holders = [Holder(args.holder, ["unshare", "--net"]) for _ in range(NETNS_COUNT)]
    for h in holders:
        h.call(op="many", count=NETNS_SOCKETS, bind="0.0.0.0")
    mnt = os.path.join(args.work, "mnt-netns")
    m = Mount(args.inetcr, mnt, os.path.join(args.work, "mount-netns.log"), netns="all")
    time.sleep(1)
    res["mem"] = {"idle": m.status()}
    try:
        def ss_each(i):
            return sum(run(["nsenter", "-t", str(h.p.pid), "-n", "ss", "-uanp"]) for h in holders)
        res["measures"] = {"netns": summary(pairs(args.pairs, lambda i: run(["ls", "-f", mnt]), ss_each))}
        res["mem"]["netns"] = m.status()
        listed = len(os.listdir(mnt))
        if listed < n:
            raise RuntimeError("ls %s: %d entries, want at least %d" % (mnt, listed, n))
        res["mem"]["end"] = m.status()
    finally:
        m.stop()
        for h in holders:
            h.stop()
    return res


def fmt_t(s):
    if s < 1:
        return "%.1f ms" % (s * 1000)
    return "%.2f s" % s


def report(results, args, prof):
    L = []
    ns = list(dict.fromkeys(r["n"] for r in results))
    bes = list(dict.fromkeys(r["backend"] for r in results if "backend" in r))
    for r in results:
        for s in r["measures"].values():
            s.setdefault("b", None)
    pairs_n = max(len(s["samples"]) for r in results for s in r["measures"].values())
    dates = sorted({r.get("date", "") for r in results} - {""}) or [time.strftime("%Y-%m-%d %H:%M")]
    revs = sorted({r.get("rev", "") for r in results} - {""}) or [args.rev or "unknown revision"]
    tar_v = subprocess.run(["tar", "--version"], stdout=subprocess.PIPE, text=True).stdout.splitlines()[0]
    ss_v = subprocess.run(["ss", "-V"], stdout=subprocess.PIPE, text=True).stdout.strip()
    fams = sorted({r.get("family", "AF_INET") for r in results})
    L.append("Measured by `scripts/bench/run.sh %s%s%s` on %s (%s): %d CPUs, kernel %s, %s, %s. "
             "%d pairs per measure, sides alternating; each side's median, and the median of the pairs' "
             "ratios (inetcr / reference). Sockets: %s." % ("--family 6 " if fams == ["AF_INET6"] else "",
                                                "--backend %s " % ",".join(bes) if bes else "",
                                                " ".join(str(n) for n in ns), " to ".join(dates[::max(1, len(dates) - 1)]),
                                                ", ".join(revs), os.cpu_count(), os.uname().release,
                                                tar_v, ss_v, pairs_n, ", ".join(fams)))
    L.append("")
    # A backend column when the runs say which backend they measured.
    bk = any("backend" in r for r in results)
    col = (lambda r: " %s |" % r.get("backend", "-")) if bk else (lambda r: "")
    L.append("| N |%s measure | inetcr | reference | ratio (min-max) | target | met |" % (" backend |" if bk else ""))
    L.append("|---:|%s---|---:|---:|---:|---:|:---:|" % ("---|" if bk else ""))
    for r in results:
        for k in ORDER:
            s = r["measures"].get(k)
            if not s:
                continue
            a, b, _ = TARGETS[k]
            tgt = target(k, r.get("backend"))
            if s["b"] is None:
                L.append("| %s |%s %s (no reference) | %s | - | - | <= %.2g | - |" % (
                    "{:,}".format(r["n"]), col(r), a, fmt_t(s["a"]), tgt))
                continue
            L.append("| %s |%s %s vs %s | %s | %s | %.2f (%.2f-%.2f) | <= %.2g | %s |" % (
                "{:,}".format(r["n"]), col(r), a, b, fmt_t(s["a"]), fmt_t(s["b"]), s["ratio"], s["ratio_min"],
                s["ratio_max"], tgt, "yes" if s["ratio"] <= tgt else "**no**"))
    L.append("")
    L.append("Mount process (`inetcr mount`): peak RSS (VmHWM, MiB) and open fds, idle and after each measure; "
             "target: peak RSS <= 150 MB at 100,000 sockets, fds back to idle.")
    L.append("")
    L.append("| N |%s idle fds | fds after ls / read / tar / dump | fds 2 s later | VmRSS idle | VmHWM after ls / read / tar / dump | VmRSS at end |"
             % (" backend |" if bk else ""))
    L.append("|---:|%s---:|---|---:|---:|---|---:|" % ("---|" if bk else ""))
    firsts = []
    for r in results:
        m = r["mem"]
        L.append("| %s |%s %d | %s | %d%s | %d | %s | %d |" % (
            "{:,}".format(r["n"]), col(r), m["idle"]["fds"], " / ".join(str(m[k]["fds"]) if k in m else "-" for k in MEM_ORDER),
            m["end"]["fds"], "" if m["end"]["fds"] == m["idle"]["fds"] else " **(idle %d)**" % m["idle"]["fds"],
            m["idle"]["VmRSS"], " / ".join(str(m[k]["VmHWM"]) if k in m else "-" for k in MEM_ORDER), m["end"]["VmRSS"]))
        if "tar_first" in r:
            firsts.append("| %s | %s | %s | %s | %s |" % (
                "{:,}".format(r["n"]), "{:,}".format(r["tar_entries"]) if r.get("tar_entries") else "-", fmt_t(r["tar_first"]),
                m["tar_first"]["VmHWM"] if "tar_first" in m else "-",
                fmt_t(r["measures"]["tar"]["a"]) if "tar" in r["measures"] else "-"))
    if firsts:
        L.append("")
        L.append("Tar over MNT: the first tar after the mount (untimed by the pairs; onto tmpfs up to --tar-copy-max, "
                 "to /dev/null above), the mount's VmHWM (MiB) right after it, and the repeat tars' median:")
        L.append("")
        L.append("| N | entries | first tar | VmHWM after it | repeat tar (median) |")
        L.append("|---:|---:|---:|---:|---:|")
        L += firsts
    loads = [r for r in results if "load" in r]
    if loads:
        L.append("")
        L.append("Load of the exact reader's BPF program (once per command: `inetcr-floor -exact -v`, each run of the reader measure):")
        L.append("")
        L.append("| N | load, median (min-max) |")
        L.append("|---:|---:|")
        for r in loads:
            L.append("| %s | %s (%s-%s) |" % ("{:,}".format(r["n"]), fmt_t(r["load"]["median"]), fmt_t(r["load"]["min"]),
                                           fmt_t(r["load"]["max"])))
    by_n = {}
    for r in results:
        by_n.setdefault(r.get("backend"), {})[r["n"]] = r
    for be, rs in by_n.items():
        if 10000 in rs and 100000 in rs:
            growth(L, rs, be)
    if prof is not None and prof.reports:
        L.append("")
        L.append("## Profiles (perf record -e cpu-clock -g, self time, top entries)")
        for name, rep in prof.reports.items():
            L.append("")
            L.append("### %s" % name)
            L.append("")
            L.append("```")
            L += rep["self"][:25]
            L.append("```")
    return "\n".join(L) + "\n"


def growth(L, by_n, be):
    """The growth table of one backend."""
    L.append("")
    L.append("Growth from 10,000 to 100,000 sockets%s (median time at 100,000 / at 10,000; target <= 11x for inetcr):"
             % (" (backend %s)" % be if be else ""))
    L.append("")
    L.append("| measure | inetcr | reference |")
    L.append("|---|---:|---:|")
    for k in ORDER:
        a, b = by_n[10000]["measures"].get(k), by_n[100000]["measures"].get(k)
        if a and b:
            g = b["a"] / a["a"]
            gb = "%.1fx" % (b["b"] / a["b"]) if a["b"] and b["b"] else "-"
            L.append("| %s | %.1fx%s | %s |" % (TARGETS[k][0], g, "" if g <= 11 else " **(no)**", gb))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work")
    ap.add_argument("--inetcr")
    ap.add_argument("--floor")
    ap.add_argument("--holder")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--family", type=int, choices=(4, 6), default=4,
                    help="the sockets' family: 4 (AF_INET, bound to 127.0.K.1) or 6 (AF_INET6, bound to 2001:db8:K::1)")
    ap.add_argument("--tar-max", type=int, default=10000)
    ap.add_argument("--tar-copy-max", type=int, default=10000,
                    help="above this N, tar has no tmpfs copy to compare with: tar over MNT is timed alone")
    ap.add_argument("--heap", action="store_true",
                    help="write Go heap profiles of the mount after the first and the repeat tars (INETCR_HEAPPROFILE)")
    ap.add_argument("--backend", default="auto",
                    help="comma-separated backends (inetcr --backend: auto, stock, exact), measured one after the other "
                         "on the same sockets (default: auto)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--rev", default="")
    ap.add_argument("--only", default="ls,read,readx,tar,dump,reader,netns",
                    help="the measures to run, comma-separated (default: ls,read,readx,tar,dump,reader,netns; netns is "
                         "%d namespaces of %d sockets, whatever N; readx and reader run for a backend other than stock "
                         "and for exact)" % (NETNS_COUNT, NETNS_SOCKETS))
    ap.add_argument("ns", nargs="*", type=int)
    ap.add_argument("--merge", nargs="+", metavar="JSON",
                    help="only render the table of earlier runs' raw samples (FILE.json) into --out")
    args = ap.parse_args()
    args.ns = args.ns or [1000, 10000]
    args.only = set(args.only.split(","))
    args.backends = args.backend.split(",")
    if args.merge:
        results = []
        for path in args.merge:
            with open(path) as f:
                results += json.load(f)
        results.sort(key=lambda r: r["n"])
        text = report(results, args, None)
        with open(args.out, "w") as f:
            f.write(text)
        print(text)
        return
    if not (args.work and args.inetcr and args.floor and args.holder):
        ap.error("--work, --inetcr, --floor and --holder are required (run.sh passes them)")

    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    args.tmpfs = os.path.join(args.work, "tmpfs")
    os.makedirs(args.tmpfs, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=90%", "bench", args.tmpfs], check=True)
    args.heapdir = None
    if args.heap:
        args.heapdir = os.path.abspath(args.out) + ".profiles"
        os.makedirs(args.heapdir, exist_ok=True)
    prof = Profiler(args.work) if args.profile else None
    if prof:
        prof.outdir = os.path.abspath(args.out) + ".profiles"
        os.makedirs(prof.outdir, exist_ok=True)
    results = []
    for n in args.ns:
        if args.only - {"netns"}:
            results += bench_n(n, args, prof)
        with open(args.out + ".json", "w") as f:
            json.dump(results, f, indent=1)
    if "netns" in args.only:
        results.append(bench_netns(args))
        with open(args.out + ".json", "w") as f:
            json.dump(results, f, indent=1)
    text = report(results, args, prof)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)
    log("written to %s (raw samples: %s.json)" % (args.out, args.out))


if __name__ == "__main__":
    main()
