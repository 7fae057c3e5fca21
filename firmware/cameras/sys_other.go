//go:build !linux

package cameras

import "syscall"

// childAttrs: off Linux a camera child notices kioskd's end only by its
// stdin closing.
func childAttrs() *syscall.SysProcAttr { return nil }

// diskFree is unknown off Linux.
func diskFree(string) int64 { return -1 }
