package journal

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	berrors "go.etcd.io/bbolt/errors"
)

// lockShared takes a shared flock on f, as bbolt's readers do, waiting up
// to timeout for a writer (bbolt holds an exclusive one) to let go. It
// fails with bbolt's ErrTimeout.
func lockShared(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case err != syscall.EWOULDBLOCK && err != syscall.EINTR:
			return fmt.Errorf("flock: %w", err)
		case time.Now().After(deadline):
			return berrors.ErrTimeout
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fallocKeepSize is FALLOC_FL_KEEP_SIZE: allocate blocks past the end of
// the file without changing its size, which stays bbolt's business.
const fallocKeepSize = 0x1

// fallocate reserves disk blocks for [off, off+n) of f.
func fallocate(f *os.File, off, n int64) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("fallocate: %w", err)
	}
	var ferr error
	err = rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Fallocate(int(fd), fallocKeepSize, off, n)
			if ferr != syscall.EINTR {
				return
			}
		}
	})
	if err != nil {
		return fmt.Errorf("fallocate: %w", err)
	}
	if errors.Is(ferr, syscall.EOPNOTSUPP) || errors.Is(ferr, syscall.ENOSYS) {
		return fmt.Errorf("fallocate: %w: %w", errors.ErrUnsupported, ferr)
	}
	if ferr != nil {
		return fmt.Errorf("fallocate: %w", ferr)
	}
	return nil
}

// diskFree returns the bytes this process may still write on dir's
// filesystem (root may use the blocks reserved for it), or -1 if unknown.
func diskFree(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1
	}
	if asRoot {
		return int64(st.Bfree) * int64(st.Bsize)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

var asRoot = os.Geteuid() == 0
