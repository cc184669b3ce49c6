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

// ReadSocket is the one-socket read of pid's socket inode, its
// descriptor fd: the inodes of the records it got.
func (e *Exact) ReadSocket(pid, fd int, inode uint64) ([]uint64, error) {
	recs, err := e.prog.readSocket(pid, fd, inode)
	var out []uint64
	for _, r := range recs {
		out = append(out, r.Inode)
	}
	return out, err
}

// ReadProcess is the read of every socket of pid: each record's
// descriptor by its inode.
func (e *Exact) ReadProcess(pid int) (map[uint64]int, error) {
	recs, err := e.prog.readProcess(pid)
	out := map[uint64]int{}
	for _, r := range recs {
		out[r.Inode] = int(r.Fd)
	}
	return out, err
}

// AskedLeft is how many sockets keep storage in the asked map (what the
// asked iterator still visits), and how many the count holds.
func (e *Exact) AskedLeft() (sockets, counted int, err error) {
	recs, err := e.prog.readAskedOnce()
	return len(recs), len(e.prog.askedStore.n), err
}

// Passes is how many passes over every task's files e has run.
func (e *Exact) Passes() int64 { return e.passes.Load() }

// AskRows is how many rows of a socket type the exact reader asks with
// getsockopt (askRows).
func AskRows(family, typ uint16) int { return len(askRows(family, typ)) }
