package netlinkio

import (
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/internal/deadline"
	"github.com/inetcr/inetcr/netlinkio/internal/procfs"
)

// procTimeout bounds a look at one process's /proc entries.
const procTimeout = 2 * time.Second

// SocketOwner is the owner of a socket: the owner of its inode, which is
// what sock_diag reports (sk_uid is set from it), seen through the
// holder's descriptor; failing that, the user of the holder; 0 when
// neither answers within a deadline, since a holder's /proc can stall
// (exec, a namespace being torn down).
func SocketOwner(inode uint64, h image.Holder) uint32 {
	uid, err := deadline.Call("/proc/"+strconv.Itoa(h.Pid), procTimeout, func() (uint32, error) {
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+strconv.Itoa(h.Pid)+"/fd/"+strconv.Itoa(h.Fd), &st) == nil && st.Ino == inode {
			return st.Uid, nil
		}
		fi, err := os.Stat("/proc/" + strconv.Itoa(h.Pid))
		if err != nil {
			return 0, err
		}
		return fi.Sys().(*syscall.Stat_t).Uid, nil
	}, func(uint32) {})
	if err != nil {
		return 0
	}
	return uid
}

// HolderCgroup is a holder's cgroup (v2) path, which names its container
// or service, "" when it cannot be read in time. It is read only where it
// is shown (info, ls --usage), not with every holder: a listing asks for
// holders of every socket.
func HolderCgroup(pid int) string { return procfs.Cgroup(pid) }
