package reqinfo

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type wrapper struct{ http.ResponseWriter }

func (w wrapper) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestFromFollowsUnwrap(t *testing.T) {
	rw := Acquire(httptest.NewRecorder(), time.Now())
	defer Release(rw)
	for _, tc := range []struct {
		desc string
		w    http.ResponseWriter
		want *Record
	}{
		{desc: "the writer itself", w: rw, want: &rw.Record},
		{desc: "wrapped twice", w: wrapper{wrapper{rw}}, want: &rw.Record},
		{desc: "not observed", w: httptest.NewRecorder(), want: nil},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := From(tc.w); got != tc.want {
				t.Errorf("From = %p, want %p", got, tc.want)
			}
		})
	}
}

func TestWriterRecords(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		serve  func(w http.ResponseWriter)
		status int
		size   int64
		id     string
	}{
		{desc: "implicit 200", serve: func(w http.ResponseWriter) { _, _ = w.Write([]byte("abc")) }, status: 200, size: 3, id: "rid"},
		{desc: "explicit status after 103", serve: func(w http.ResponseWriter) {
			w.WriteHeader(103)
			w.WriteHeader(404)
		}, status: 404, id: "rid"},
		{desc: "backend's own id wins", serve: func(w http.ResponseWriter) {
			w.Header().Set(RequestIDHeader, "theirs")
			w.WriteHeader(200)
		}, status: 200, id: "theirs"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rw := Acquire(rec, time.Now())
			rw.Record.RequestID = "rid"
			tc.serve(rw)
			if rw.Record.Status != tc.status || rw.Record.Size != tc.size {
				t.Errorf("status %d size %d", rw.Record.Status, rw.Record.Size)
			}
			if got := rec.Header().Values(RequestIDHeader); len(got) != 1 || got[0] != tc.id {
				t.Errorf("X-Request-Id = %q, want %q", got, tc.id)
			}
			Release(rw)
		})
	}
}

func TestRequestID(t *testing.T) {
	for _, tc := range []struct {
		desc, in string
		keep     bool
	}{
		{desc: "absent", in: ""},
		{desc: "valid kept", in: "abc-123", keep: true},
		{desc: "control characters replaced", in: "a\x01b"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tc.in != "" {
				r.Header[RequestIDHeader] = []string{tc.in}
			}
			id := RequestID(r)
			if (id == tc.in) != tc.keep || len(id) == 0 || r.Header.Get(RequestIDHeader) != id {
				t.Errorf("id %q for %q", id, tc.in)
			}
		})
	}
	if a, b := NewRequestID(), NewRequestID(); a == b || len(a) != 32 {
		t.Errorf("IDs %q and %q", a, b)
	}
}

func TestProtocolOf(t *testing.T) {
	for _, tc := range []struct {
		desc string
		hdr  map[string]string
		want Protocol
	}{
		{desc: "plain", want: ProtoHTTP},
		{desc: "websocket", hdr: map[string]string{"Upgrade": "WebSocket"}, want: ProtoWebSocket},
		{desc: "grpc", hdr: map[string]string{"Content-Type": "application/grpc+proto"}, want: ProtoGRPC},
		{desc: "sse", hdr: map[string]string{"Accept": "text/event-stream"}, want: ProtoSSE},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			for k, v := range tc.hdr {
				r.Header.Set(k, v)
			}
			if got := ProtocolOf(r); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRequestSize(t *testing.T) {
	for _, tc := range []struct {
		desc string
		req  func() *http.Request
		want int64
	}{
		{desc: "declared length", want: 5, req: func() *http.Request {
			return httptest.NewRequest("POST", "/", strings.NewReader("hello"))
		}},
		{desc: "no body", want: 0, req: func() *http.Request {
			return httptest.NewRequest("GET", "/", nil)
		}},
		{desc: "unknown length (chunked) is counted as read", want: 11, req: func() *http.Request {
			r := httptest.NewRequest("POST", "/", io.MultiReader(strings.NewReader("hello world")))
			r.ContentLength = -1
			return r
		}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			rw := Acquire(httptest.NewRecorder(), time.Now())
			defer Release(rw)
			r := tc.req()
			rw.Record.CountBody(r)
			if _, err := io.Copy(io.Discard, r.Body); err != nil {
				t.Fatal(err)
			}
			if got := rw.Record.RequestSize(r); got != tc.want {
				t.Errorf("RequestSize = %d, want %d", got, tc.want)
			}
		})
	}
}
