#!/usr/bin/env python3
"""tar over a backend-less FUSE tree of the tree's shape (fusefloor) against
tar over a tmpfs copy, under several kernel cache policies: what the FUSE
round trips alone cost (docs/performance.md, "The floor of tar over FUSE").

Run by scripts/bench/fusefloor.sh inside a private mount namespace.
"""
import os, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import pairs, summary, run, fmt_t, log

VARIANTS = [
    ("b9c7570's policy: timeouts 0, direct_io, readdirplus", ["-timeout", "0s", "-direct"]),
    ("timeouts 1 s, direct_io", ["-timeout", "1s", "-direct"]),
    ("timeouts 1 s, direct_io, no readdirplus", ["-timeout", "1s", "-direct", "-readdirplus=false"]),
    ("timeouts 1 s, page cache (keep_cache)", ["-timeout", "1s", "-direct=false", "-keepcache"]),
    ("timeouts 1 s, no_open (ENOSYS), page cache", ["-timeout", "1s", "-direct=false", "-noopen"]),
    ("timeouts 1 s, no_open, no_flush, page cache", ["-timeout", "1s", "-direct=false", "-noopen", "-noflush"]),
    ("timeouts 1 s, direct_io, FOPEN_NOFLUSH", ["-timeout", "1s", "-direct", "-open-noflush"]),
    ("timeouts 1 s, page cache (keep_cache), FOPEN_NOFLUSH", ["-timeout", "1s", "-direct=false", "-keepcache", "-open-noflush"]),
]


def main():
    binary, work, n, P = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    mnt, tmp = os.path.join(work, "mnt"), os.path.join(work, "tmpfs")
    os.makedirs(mnt, exist_ok=True)
    os.makedirs(tmp, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "bench", tmp], check=True)
    copy = os.path.join(tmp, "copy")
    tarcmd = 'tar -cf - -C "$1" . | cat > /dev/null'
    rows = []
    only = os.environ.get("FUSEFLOOR_ONLY")  # e.g. "0,6,7": run only those variants
    for k, (label, flags) in enumerate(VARIANTS):
        if only and str(k) not in only.split(","):
            continue
        log("== %s" % label)
        p = subprocess.Popen([binary, "-n", str(n)] + flags + [mnt])
        for _ in range(100):
            if any(l.split()[4] == mnt for l in open("/proc/self/mountinfo")):
                break
            time.sleep(0.05)
        time.sleep(0.5)
        if not os.path.exists(copy):
            os.makedirs(copy)
            subprocess.run("tar -cf - -C %s . | tar -xf - -C %s" % (mnt, copy), shell=True, check=True)
        s = summary(pairs(P, lambda i: run(["sh", "-c", tarcmd, "sh", mnt]),
                          lambda i: run(["sh", "-c", tarcmd, "sh", copy])))
        rows.append((label, s))
        p.terminate()
        p.wait()
    print("| kernel cache policy (fusefloor, N = %s) | tar over FUSE | tar over tmpfs | ratio |" % "{:,}".format(n))
    print("|---|---:|---:|---:|")
    for label, s in rows:
        print("| %s | %s | %s | %.2f |" % (label, fmt_t(s["a"]), fmt_t(s["b"]), s["ratio"]))


if __name__ == "__main__":
    main()
