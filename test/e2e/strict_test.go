//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"
)

// strictConfig routes every request of the web entrypoint, whatever its
// host, to one backend.
func strictConfig(url string) string {
	return `http:
  routers:
    all:
      rule: "PathPrefix(` + "`/`" + `)"
      service: rec
  services:
` + aService("rec", url)
}

// TestStrictRejectsMalformed sends malformed requests as raw bytes: each
// gets its error status, the connection is closed, and the backend never
// sees the request.
func TestStrictRejectsMalformed(t *testing.T) {
	rec := aRecordingBackend(t, "rec")
	in := start(t, []string{"web"}, strictConfig(rec.URL))
	addr := in.aAddr("web")

	const h = "Host: strict.test\r\n"
	tests := []struct {
		desc       string
		raw        string
		wantStatus int
	}{
		{desc: "Content-Length and Transfer-Encoding", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", wantStatus: 400},
		{desc: "Transfer-Encoding and Content-Length", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", wantStatus: 400},
		{desc: "two Content-Length", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", wantStatus: 400},
		{desc: "two different Content-Length", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", wantStatus: 400},
		{desc: "Content-Length list 3, 3", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length: 3, 3\r\n\r\nabc", wantStatus: 400},
		{desc: "Content-Length +3", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length: +3\r\n\r\nabc", wantStatus: 400},
		{desc: "Content-Length -1", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length: -1\r\n\r\n", wantStatus: 400},
		{desc: "Content-Length hex", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length: 0x3\r\n\r\nabc", wantStatus: 400},
		{desc: "obs-fold", raw: "GET / HTTP/1.1\r\n" + h + "X-Folded: a\r\n b\r\n\r\n", wantStatus: 400},
		{desc: "obs-fold with tab", raw: "GET / HTTP/1.1\r\n" + h + "X-Folded: a\r\n\tb\r\n\r\n", wantStatus: 400},
		{desc: "bare LF line endings", raw: "GET / HTTP/1.1\nHost: strict.test\n\n", wantStatus: 400},
		{desc: "bare LF in one header line", raw: "GET / HTTP/1.1\r\n" + h + "X-A: b\nX-C: d\r\n\r\n", wantStatus: 400},
		{desc: "NUL in a header value", raw: "GET / HTTP/1.1\r\n" + h + "X-A: a\x00b\r\n\r\n", wantStatus: 400},
		{desc: "control char 0x01 in a header value", raw: "GET / HTTP/1.1\r\n" + h + "X-A: a\x01b\r\n\r\n", wantStatus: 400},
		{desc: "DEL in a header value", raw: "GET / HTTP/1.1\r\n" + h + "X-A: a\x7fb\r\n\r\n", wantStatus: 400},
		{desc: "bare CR in a header value", raw: "GET / HTTP/1.1\r\n" + h + "X-A: a\rb\r\n\r\n", wantStatus: 400},
		{desc: "space before the colon", raw: "GET / HTTP/1.1\r\n" + h + "X-A : b\r\n\r\n", wantStatus: 400},
		{desc: "space before the colon of Content-Length", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length : 3\r\n\r\nabc", wantStatus: 400},
		{desc: "missing Host on HTTP/1.1", raw: "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", wantStatus: 400},
		{desc: "two Host headers", raw: "GET / HTTP/1.1\r\n" + h + "Host: other.test\r\n\r\n", wantStatus: 400},
		{desc: "Transfer-Encoding on HTTP/1.0", raw: "POST / HTTP/1.0\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", wantStatus: 400},
		{desc: "chunked not the final coding", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", wantStatus: 400},
		{desc: "unsupported transfer coding", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", wantStatus: 501},
		{desc: "CONNECT", raw: "CONNECT strict.test:443 HTTP/1.1\r\nHost: strict.test:443\r\n\r\n", wantStatus: 501},
		{desc: "HTTP/2.0 request line", raw: "GET / HTTP/2.0\r\n" + h + "\r\n", wantStatus: 505},
		{desc: "HTTP/3.0 request line", raw: "GET / HTTP/3.0\r\n" + h + "\r\n", wantStatus: 505},
		{desc: "huge header", raw: "GET / HTTP/1.1\r\n" + h + "X-Big: " + strings.Repeat("a", 1<<20+4096) + "\r\n\r\n", wantStatus: 431},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			before := rec.count()
			res := aSendRaw(t, addr, tc.raw, 5*time.Second)
			if res.status != tc.wantStatus {
				t.Errorf("status %d, want %d; response:\n%s", res.status, tc.wantStatus, res.raw)
			}
			if !res.closed {
				t.Errorf("connection left open after a rejected request")
			}
			if n := rec.count() - before; n != 0 {
				t.Errorf("the backend received %d request(s): %+v", n, rec.last(t))
			}
		})
	}
	// berth still serves well-formed requests, and the backend saw nothing
	// of the ones above.
	if res := aSendRaw(t, addr, "GET /ok HTTP/1.1\r\n"+h+"Connection: close\r\n\r\n", 5*time.Second); res.status != 200 {
		t.Fatalf("valid request after the bad ones: %d\n%s", res.status, res.raw)
	}
	if n := rec.count(); n != 1 {
		t.Errorf("backend saw %d requests in total, want only the valid one", n)
	}
}

// TestStrictChunkedBareLF sends a chunked body whose chunk lines end with
// a bare LF: the backend must not receive it as a complete request.
func TestStrictChunkedBareLF(t *testing.T) {
	rec := aRecordingBackend(t, "rec")
	in := start(t, []string{"web"}, strictConfig(rec.URL))
	const head = "POST / HTTP/1.1\r\nHost: strict.test\r\nTransfer-Encoding: chunked\r\n\r\n"
	tests := []struct{ desc, body string }{
		{desc: "bare LF after the size", body: "3\nabc\r\n0\r\n\r\n"},
		{desc: "bare LF after the data", body: "3\r\nabc\n0\r\n\r\n"},
		{desc: "bare LF everywhere", body: "3\nabc\n0\n\n"},
		{desc: "bare LF in the last chunk", body: "3\r\nabc\r\n0\n\r\n"},
		{desc: "bare LF after trailer section", body: "3\r\nabc\r\n0\r\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			before := rec.complete.Load()
			res := aSendRaw(t, in.aAddr("web"), head+tc.body, 3*time.Second)
			t.Logf("answer %d closed=%v", res.status, res.closed)
			if res.status == 200 {
				t.Errorf("a malformed chunked body was answered 200:\n%s", res.raw)
			}
			if res.status != 400 && !res.closed {
				t.Errorf("want 400 or a closed connection, got %d (closed=%v)", res.status, res.closed)
			}
			// Give a forwarded body time to arrive before checking.
			time.Sleep(100 * time.Millisecond)
			if n := rec.complete.Load() - before; n != 0 {
				t.Errorf("the backend received %d complete request(s), last: %+v", n, rec.last(t))
			}
		})
	}
}

// TestStrictValidRequests checks that well-formed but less common requests
// are forwarded intact.
func TestStrictValidRequests(t *testing.T) {
	rec := aRecordingBackend(t, "rec")
	in := start(t, []string{"web"}, strictConfig(rec.URL))
	addr := in.aAddr("web")

	t.Run("chunked POST body is forwarded intact", func(t *testing.T) {
		raw := "POST /upload HTTP/1.1\r\nHost: strict.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
			"5\r\nhello\r\n" + "1;ext=1\r\n \r\n" + "a\r\n0123456789\r\n" + "0\r\n\r\n"
		before := rec.count()
		res := aSendRaw(t, addr, raw, 5*time.Second)
		if res.status != 200 {
			t.Fatalf("status %d\n%s", res.status, res.raw)
		}
		if rec.count()-before != 1 {
			t.Fatalf("backend saw %d requests, want 1", rec.count()-before)
		}
		got := rec.last(t)
		if got.Body != "hello 0123456789" || got.BodyErr != nil || got.Method != "POST" || got.Path != "/upload" {
			t.Errorf("backend saw %s %s body %q (err %v), want POST /upload %q", got.Method, got.Path, got.Body, got.BodyErr, "hello 0123456789")
		}
	})

	t.Run("Content-Length POST body is forwarded intact", func(t *testing.T) {
		raw := "POST /cl HTTP/1.1\r\nHost: strict.test\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world"
		res := aSendRaw(t, addr, raw, 5*time.Second)
		if res.status != 200 {
			t.Fatalf("status %d\n%s", res.status, res.raw)
		}
		if got := rec.last(t); got.Body != "hello world" || got.Path != "/cl" {
			t.Errorf("backend saw %s body %q", got.Path, got.Body)
		}
	})

	t.Run("Upgrade h2c is served as plain HTTP/1.1", func(t *testing.T) {
		raw := "GET /h2c HTTP/1.1\r\nHost: strict.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n"
		before := rec.count()
		res := aSendRaw(t, addr, raw, 5*time.Second)
		if res.status != 200 || !strings.HasPrefix(res.raw, "200 OK") {
			t.Fatalf("status %d, want a plain 200 (not 101)\n%s", res.status, res.raw)
		}
		if !strings.Contains(res.raw, "rec /h2c") {
			t.Errorf("body not from the backend:\n%s", res.raw)
		}
		if rec.count()-before != 1 {
			t.Fatalf("backend saw %d requests, want 1", rec.count()-before)
		}
		got := rec.last(t)
		for _, k := range []string{"Upgrade", "Http2-Settings"} {
			if v, ok := got.Header[k]; ok {
				t.Errorf("backend saw %s: %q", k, v)
			}
		}
		for _, v := range got.Header.Values("Connection") {
			if strings.Contains(strings.ToLower(v), "upgrade") {
				t.Errorf("backend saw Connection: %q", v)
			}
		}
	})

	t.Run("HTTP/1.0 without Host is accepted", func(t *testing.T) {
		before := rec.count()
		res := aSendRaw(t, addr, "GET /ten HTTP/1.0\r\n\r\n", 5*time.Second)
		if res.status != 200 {
			t.Fatalf("status %d\n%s", res.status, res.raw)
		}
		if rec.count()-before != 1 {
			t.Errorf("backend saw %d requests, want 1", rec.count()-before)
		}
	})
}
