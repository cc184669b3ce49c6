package exact

// PassImages is DumpBatch without the rows the program reads no field
// for: one pass and every image built from its records alone. The
// benchmark's difference between the two is what asking those rows of a
// duplicate costs.
func (e *Exact) PassImages() (int, error) {
	p, err := e.readPass()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range p.recs {
		if r.Family == 2 { // AF_INET, as the benchmark's sockets are
			if _, err := e.env.image(r); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// ReadSocket is the one-socket read of pid's socket inode: the inodes of
// the records it got.
func (e *Exact) ReadSocket(pid int, inode uint64) ([]uint64, error) {
	recs, err := e.prog.readSocket(pid, inode)
	var out []uint64
	for _, r := range recs {
		out = append(out, r.Inode)
	}
	return out, err
}

// ReadProcess is the read of every socket of pid: the records' inodes.
func (e *Exact) ReadProcess(pid int) ([]uint64, error) {
	recs, err := e.prog.readProcess(pid)
	var out []uint64
	for _, r := range recs {
		out = append(out, r.Inode)
	}
	return out, err
}

// WantedLeft is how many keys the wanted map holds, and how many inodes
// its count does.
func (e *Exact) WantedLeft() (keys, counted int) {
	var key uint64
	var val uint32
	for it := e.prog.wanted.m.Iterate(); it.Next(&key, &val); {
		keys++
	}
	return keys, len(e.prog.wanted.n)
}

// Passes is how many passes over every task's files e has run.
func (e *Exact) Passes() int64 { return e.passes.Load() }

// AskRows is how many rows of a socket type the exact reader asks with
// getsockopt (askRows).
func AskRows(family, typ uint16) int { return len(askRows(family, typ)) }
