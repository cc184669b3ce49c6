package image

import "golang.org/x/sys/unix"

// Privilege is an option row's rule for when the kernel asks its caller
// for a capability: the row's Needs column. A change of the row's value
// for which When holds (any change when When is nil) needs one of Caps.
// netlinkio.Caller applies the rules.
type Privilege struct {
	Caps []int
	// When gets the old and new values and, for a rule with a Sysctl, the
	// sysctl's value (0 otherwise).
	When func(old, nw Value, sysctl uint64) bool
	Why  string // appended to the row's path in the refusal
	// Sysctl is the file below /proc/sys whose value When compares with,
	// "" for none: "net/core/wmem_max".
	Sysctl string
}

var netAdminOrRaw = []int{unix.CAP_NET_ADMIN, unix.CAP_NET_RAW}

// The rules of the option table, following the kernel's own checks.
var (
	// needOnChange: SO_MARK.
	needOnChange = &Privilege{Caps: netAdminOrRaw}
	// needAbove6: SO_PRIORITY outside TC_PRIO_BESTEFFORT..INTERACTIVE.
	needAbove6 = &Privilege{Caps: netAdminOrRaw, Why: " above 6", When: func(_, nw Value, _ uint64) bool { return nw.Num > 6 }}
	// needToTurnOn: IP_TRANSPARENT; turning it off is free.
	needToTurnOn = &Privilege{Caps: netAdminOrRaw, When: func(_, nw Value, _ uint64) bool { return nw.Num == 1 }}
	// needToRebind: SO_BINDTODEVICE of a socket already bound to one.
	needToRebind = &Privilege{Caps: []int{unix.CAP_NET_RAW}, Why: " of a socket already bound to a device", When: func(old, _ Value, _ uint64) bool { return len(old.Bytes) > 0 }}
)

// needPastSysctl: a buffer size past net.core.NAME takes the FORCE option.
func needPastSysctl(name string) *Privilege {
	return &Privilege{Caps: []int{unix.CAP_NET_ADMIN}, Why: " past net.core." + name, Sysctl: "net/core/" + name, When: func(_, nw Value, max uint64) bool {
		return nw.Num/2 > max
	}}
}
