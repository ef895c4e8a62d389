package proxy

import (
	"errors"
	"syscall"
)

// peerClosed reports whether the server has closed an idle connection (or
// sent something unasked, which also makes it unusable), without blocking:
// it peeks at the socket with MSG_DONTWAIT. A connection that cannot be
// probed is assumed open.
func peerClosed(raw syscall.RawConn) bool {
	if raw == nil {
		return false
	}
	var closed bool
	var buf [1]byte
	err := raw.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// EAGAIN (nothing to read) is the normal state of an idle
		// connection. Anything else is EOF (0 bytes), unsolicited data or
		// an error such as ECONNRESET.
		closed = !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EINTR)
		return true // never wait for readiness
	})
	return closed || err != nil
}
