package server

import (
	"net"
	"sync"
)

// peekedConn is a connection whose first byte was read to tell TLS from
// plain HTTP; Read returns that byte first.
type peekedConn struct {
	net.Conn
	first []byte
}

func (c *peekedConn) Read(p []byte) (int, error) {
	if len(c.first) > 0 {
		n := copy(p, c.first)
		c.first = c.first[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// rawConn returns the connection under a PROXY protocol wrapper, or c.
func rawConn(c net.Conn) net.Conn {
	if pc, ok := c.(interface{ Raw() net.Conn }); ok {
		return pc.Raw()
	}
	return c
}

// CloseWrite half-closes the underlying TCP connection, so that a
// hijacked WebSocket can signal the end of one direction.
func (c *peekedConn) CloseWrite() error {
	if cw, ok := rawConn(c.Conn).(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// connListener is a net.Listener fed by hand: berth's accept loop sniffs
// and handshakes connections itself, then hands the HTTP/2 ones to
// net/http's server through it.
type connListener struct {
	addr   net.Addr
	ch     chan net.Conn
	once   sync.Once
	closed chan struct{}
}

func newConnListener(addr net.Addr) *connListener {
	return &connListener{addr: addr, ch: make(chan net.Conn), closed: make(chan struct{})}
}

// hand gives c to the server, or closes it when the listener is closed.
func (l *connListener) hand(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.closed:
		_ = c.Close()
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }
