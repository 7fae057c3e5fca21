//go:build !linux

package cloudlink

// quickAck is Linux's TCP_QUICKACK; elsewhere the kernel decides.
func quickAck(uintptr) {}
