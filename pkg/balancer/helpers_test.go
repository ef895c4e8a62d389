package balancer

import (
	"io"
	"net"
	"strings"
)

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

// connectErr is what a refused dial looks like.
func connectErr() error {
	return &net.OpError{Op: "dial", Net: "tcp", Err: io.EOF}
}
