package main

import (
	"fmt"
	"io"
	"os"

	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// readInput reads a whole input: the file path, or stdin when path is ""
// or "-". It refuses a terminal on stdin (an image is not typed) and input
// larger than max.
func readInput(op, path string, max int) ([]byte, error) {
	var r io.Reader = os.Stdin
	name := "stdin"
	if path != "" && path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		defer f.Close()
		r, name = f, path
	} else if isTerminal(os.Stdin) {
		return nil, fmt.Errorf("%s: stdin is a terminal; pipe the input in or name a file", op)
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", op, name, err)
	}
	if len(b) > max {
		return nil, fmt.Errorf("%s: %s is larger than %d bytes", op, name, max)
	}
	return b, nil
}

// writeBinary writes an image to path, or to stdout when path is "" or
// "-". It refuses to write binary to a terminal.
func writeBinary(op, path string, b []byte) error {
	if path != "" && path != "-" {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		return nil
	}
	if isTerminal(os.Stdout) {
		return fmt.Errorf("%s: refusing to write a binary image to a terminal; redirect stdout, use -o FILE, or pipe it to inetcr decode", op)
	}
	if _, err := os.Stdout.Write(b); err != nil {
		return fmt.Errorf("%s: write stdout: %w", op, err)
	}
	return nil
}

// maxJSON bounds an encode's input; the JSON of the largest valid image is
// far smaller.
const maxJSON = 16 * image.MaxImageSize
