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

// AskRows is how many rows of a socket type the exact reader asks with
// getsockopt (askRows).
func AskRows(family, typ uint16) int { return len(askRows(family, typ)) }
