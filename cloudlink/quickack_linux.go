package cloudlink

import "syscall"

// quickAck makes the kernel acknowledge received data at once, this time.
func quickAck(fd uintptr) {
	_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
}
