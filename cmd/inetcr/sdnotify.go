package main

import (
	"net"
	"os"
)

// sdNotifier returns a function that sends state (for instance
// "READY=1") to the service manager, or nil when inetcr does not run
// under one: systemd's sd_notify protocol is one datagram to the unix
// socket named by $NOTIFY_SOCKET ("@name" for the abstract namespace).
// It is written here rather than taken from a library because it is that
// one datagram, and a notification that cannot be sent changes nothing
// for the tree: systemd then times the start out, and says so.
func sdNotifier(state string) func() {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	return func() { sdNotify(path, state) }
}

// sdNotify sends one notification; the error is for tests.
func sdNotify(path, state string) error {
	// Go maps a leading '@' to the abstract namespace itself.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	return err
}
