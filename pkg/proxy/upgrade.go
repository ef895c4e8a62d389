package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
)

// serveUpgrade completes a protocol switch (WebSocket and the like): the
// upstream answered 101 on a fresh, never-pooled connection; the client
// connection is hijacked, sent the 101, and bytes are copied both ways until
// both directions are closed.
func (h *handler) serveUpgrade(w http.ResponseWriter, r *http.Request, o *outRequest, c *conn, stop func() bool) {
	defer c.close()
	if stop != nil {
		defer stop()
	}
	if !upgradeMatches(o.upgrade, c.head.upgrade) {
		writeError(h.logger, w, r, h.targetStr, errUpgradeMissing)
		return
	}
	// The upstream's headers go into w.Header() before the hijack so that
	// middlewares wrapping w (headers, CORS) see and amend the 101 like
	// any other response: they apply their changes when Hijack is called.
	hdr := w.Header()
	c.head.copyHeaders(hdr)
	cc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 clients cannot be hijacked; the server switched anyway,
		// so the upstream connection is lost either way.
		for k := range hdr {
			delete(hdr, k)
		}
		writeError(h.logger, w, r, h.targetStr, err)
		return
	}
	defer cc.Close()

	bw := brw.Writer
	bw.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	delete(hdr, "Connection")
	delete(hdr, "Upgrade")
	_ = hdr.Write(bw)
	bw.WriteString("Connection: Upgrade\r\nUpgrade: ")
	bw.WriteString(c.head.upgrade)
	bw.WriteString("\r\n\r\n")
	if err := bw.Flush(); err != nil {
		return
	}
	tunnel(cc, brw.Reader, c.nc, c.br)
}

// upgradeMatches reports whether the server switched to a protocol the
// client offered.
func upgradeMatches(offered, got string) bool {
	if got == "" {
		return false
	}
	got = strings.TrimSpace(got)
	for _, p := range strings.Split(offered, ",") {
		if strings.EqualFold(strings.TrimSpace(p), got) {
			return true
		}
	}
	return false
}

// tunnel copies client→server and server→client, including bytes already
// buffered by either side's reader. When one direction ends cleanly its
// write half is closed so the peer sees EOF while the other direction
// drains; an error in either direction tears both down.
func tunnel(client net.Conn, clientR *bufio.Reader, server net.Conn, serverR *bufio.Reader) {
	var wg sync.WaitGroup
	var once sync.Once
	teardown := func() {
		once.Do(func() {
			client.Close()
			server.Close()
		})
	}
	pipe := func(dst net.Conn, src io.Reader) {
		if _, err := io.Copy(dst, src); err != nil {
			teardown()
			return
		}
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			if cw.CloseWrite() == nil {
				return
			}
		}
		teardown()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		pipe(server, clientR)
	}()
	pipe(client, serverR)
	wg.Wait()
	teardown()
}
