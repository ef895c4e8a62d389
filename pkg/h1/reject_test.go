package h1

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestRejections(t *testing.T) {
	h := &countingHandler{}
	addr := startServer(t, &Server{Handler: h})
	big := strings.Repeat("a", 8<<10)
	small := startServer(t, &Server{Handler: h, MaxHeaderBytes: 4096})

	tests := []struct {
		desc   string
		addr   string // default: addr
		req    string
		status string
	}{
		{desc: "CL and TE", req: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: "400"},
		{desc: "TE and CL", req: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", status: "400"},
		{desc: "CL twice, equal", req: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab", status: "400"},
		{desc: "CL twice, different", req: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", status: "400"},
		{desc: "CL list", req: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2, 2\r\n\r\nab", status: "400"},
		{desc: "CL plus sign", req: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +2\r\n\r\nab", status: "400"},
		{desc: "CL minus sign", req: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", status: "400"},
		{desc: "CL inner space", req: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 0\r\n\r\n", status: "400"},
		{desc: "CL hex", req: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", status: "400"},
		{desc: "CL empty", req: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", status: "400"},
		{desc: "CL overflow", req: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n", status: "400"},
		{desc: "obs-fold", req: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", status: "400"},
		{desc: "obs-fold with tab", req: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", status: "400"},
		{desc: "fold before first header", req: "GET / HTTP/1.1\r\n Host: a\r\n\r\n", status: "400"},
		{desc: "bare LF after request line", req: "GET / HTTP/1.1\nHost: a\r\n\r\n", status: "400"},
		{desc: "bare LF in headers", req: "GET / HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n", status: "400"},
		{desc: "bare LF ends head", req: "GET / HTTP/1.1\r\nHost: a\r\n\n", status: "400"},
		{desc: "only bare LFs", req: "GET / HTTP/1.1\nHost: a\n\n", status: "400"},
		{desc: "bare CR in value", req: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", status: "400"},
		{desc: "NUL in value", req: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n", status: "400"},
		{desc: "CTL in value", req: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01c\r\n\r\n", status: "400"},
		{desc: "DEL in value", req: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7fc\r\n\r\n", status: "400"},
		{desc: "space before colon", req: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", status: "400"},
		{desc: "tab before colon", req: "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", status: "400"},
		{desc: "empty header name", req: "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", status: "400"},
		{desc: "header without colon", req: "GET / HTTP/1.1\r\nHost: a\r\nX-A\r\n\r\n", status: "400"},
		{desc: "invalid header name byte", req: "GET / HTTP/1.1\r\nHost: a\r\nX@A: b\r\n\r\n", status: "400"},
		{desc: "TE gzip only", req: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", status: "501"},
		{desc: "TE identity", req: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", status: "501"},
		{desc: "TE gzip then chunked", req: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", status: "501"},
		{desc: "TE chunked not last", req: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", status: "400"},
		{desc: "TE chunked not last across fields", req: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n", status: "400"},
		{desc: "TE chunked twice", req: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", status: "400"},
		{desc: "TE empty", req: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", status: "400"},
		{desc: "TE chunked junk", req: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n", status: "400"},
		{desc: "TE on HTTP/1.0", req: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: "400"},
		{desc: "missing Host", req: "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", status: "400"},
		{desc: "two Hosts", req: "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", status: "400"},
		{desc: "Host with space", req: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", status: "400"},
		{desc: "Host with slash", req: "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", status: "400"},
		{desc: "Host with CTL", req: "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", status: "400"},
		{desc: "Host with bad port", req: "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", status: "400"},
		{desc: "Host with userinfo", req: "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", status: "400"},
		{desc: "header block too large", addr: small, req: "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + big + "\r\n\r\n", status: "431"},
		{desc: "request line too large", addr: small, req: "GET /" + big + " HTTP/1.1\r\nHost: a\r\n\r\n", status: "431"},
		{desc: "CONNECT", req: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", status: "501"},
		{desc: "HTTP/2 preface", req: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", status: "505"},
		{desc: "HTTP/1.2", req: "GET / HTTP/1.2\r\nHost: a\r\n\r\n", status: "505"},
		{desc: "HTTP/0.9 style", req: "GET /\r\n\r\n", status: "400"},
		{desc: "lower-case version", req: "GET / http/1.1\r\nHost: a\r\n\r\n", status: "400"},
		{desc: "extra space in request line", req: "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", status: "400"},
		{desc: "space in target", req: "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", status: "400"},
		{desc: "trailing space after version", req: "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", status: "400"},
		{desc: "leading space", req: " GET / HTTP/1.1\r\nHost: a\r\n\r\n", status: "400"},
		{desc: "invalid method", req: "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", status: "400"},
		{desc: "relative target", req: "GET a HTTP/1.1\r\nHost: a\r\n\r\n", status: "400"},
		{desc: "asterisk for GET", req: "GET * HTTP/1.1\r\nHost: a\r\n\r\n", status: "400"},
		{desc: "CTL in target", req: "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", status: "400"},
		{desc: "absolute-form without host", req: "GET http:///a HTTP/1.1\r\nHost: a\r\n\r\n", status: "400"},
		{desc: "unknown Expect", req: "POST / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\nContent-Length: 1\r\n\r\nx", status: "417"},
		{desc: "Trailer declares Content-Length", req: "POST / HTTP/1.1\r\nHost: a\r\nTrailer: Content-Length\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: "400"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			a := tt.addr
			if a == "" {
				a = addr
			}
			before := h.calls.Load()
			resp := exchange(t, a, tt.req)
			if got := statusLineOf(resp); !strings.HasPrefix(got, "HTTP/1.1 "+tt.status+" ") {
				t.Fatalf("status line %q, want %s; response:\n%s", got, tt.status, resp)
			}
			head, _, _ := strings.Cut(resp, "\r\n\r\n")
			if !strings.Contains(head, "\r\nConnection: close") {
				t.Errorf("no Connection: close in %q", head)
			}
			if h.calls.Load() != before {
				t.Errorf("handler was called")
			}
		})
	}
}

// TestChunkedBodyErrors checks that malformed chunked framing surfaces as a
// read error in the handler and closes the connection.
func TestChunkedBodyErrors(t *testing.T) {
	tests := []struct {
		desc string
		body string
	}{
		{desc: "bare LF after size", body: "5\nhello\r\n0\r\n\r\n"},
		{desc: "non-hex size", body: "5g\r\nhello\r\n0\r\n\r\n"},
		{desc: "empty size", body: "\r\nhello\r\n0\r\n\r\n"},
		{desc: "size overflow", body: "fffffffffffffffff\r\nhello\r\n0\r\n\r\n"},
		{desc: "negative size", body: "-5\r\nhello\r\n0\r\n\r\n"},
		{desc: "data not followed by CRLF", body: "5\r\nhelloX\r\n0\r\n\r\n"},
		{desc: "data followed by bare LF", body: "5\r\nhello\n0\r\n\r\n"},
		{desc: "bad extension", body: "5;\x01\r\nhello\r\n0\r\n\r\n"},
		{desc: "unterminated quoted extension", body: "5;a=\"b\r\nhello\r\n0\r\n\r\n"},
		{desc: "bad trailer", body: "5\r\nhello\r\n0\r\nBad Name: x\r\n\r\n"},
		{desc: "trailer obs-fold", body: "5\r\nhello\r\n0\r\nA: x\r\n y\r\n\r\n"},
		{desc: "huge chunk line", body: "5;" + strings.Repeat("a", 5000) + "\r\nhello\r\n0\r\n\r\n"},
	}
	errs := make(chan error, 1)
	h := &countingHandler{h: func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		errs <- err
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
		}
	}}
	addr := startServer(t, &Server{Handler: h})
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			resp := exchange(t, addr, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"+tt.body+
				"GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
			if err := <-errs; err == nil {
				t.Fatal("handler read the body without error")
			}
			if got := statusLineOf(resp); !strings.HasPrefix(got, "HTTP/1.1 400 ") {
				t.Fatalf("status %q", got)
			}
			if strings.Count(resp, "HTTP/1.1 ") != 1 {
				t.Fatalf("connection was reused after a framing error:\n%s", resp)
			}
		})
	}
}
