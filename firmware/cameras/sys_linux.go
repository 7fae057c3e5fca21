package cameras

import "syscall"

// childAttrs makes a camera child die with kioskd, however kioskd ends.
func childAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// diskFree returns the bytes an unprivileged writer may still put on
// dir's filesystem, or -1 if unknown.
func diskFree(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}
