package retry

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/middleware"
	"github.com/berthproxy/berth/pkg/proxy"
)

// flaky answers with the given outcomes in turn: a status, or 0 for a
// refused connection reported through the proxy's hook.
type flaky struct {
	outcomes []int
	calls    int
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	o := f.outcomes[min(f.calls, len(f.outcomes)-1)]
	f.calls++
	if o == 0 {
		err := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
		if eh, ok := w.(proxy.UpstreamErrorHandler); ok && eh.UpstreamError(err) {
			return
		}
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	w.Header().Set("X-Try", http.StatusText(o))
	w.WriteHeader(o)
	_, _ = w.Write([]byte("answer"))
}

func build(t *testing.T, spec *Spec, next http.Handler) http.Handler {
	t.Helper()
	h, err := Factory{}.Build(middleware.BuildContext{}, "r", spec, next)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestRetry(t *testing.T) {
	tests := []struct {
		desc      string
		spec      Spec
		method    string
		body      string
		outcomes  []int
		wantCode  int
		wantCalls int
	}{
		{desc: "a refused connection is retried", spec: Spec{Attempts: 3}, method: "GET", outcomes: []int{0, 200}, wantCode: 200, wantCalls: 2},
		{desc: "up to attempts, the last answer goes out", spec: Spec{Attempts: 3}, method: "GET", outcomes: []int{0, 0, 0, 200}, wantCode: 502, wantCalls: 3},
		{desc: "a status is not retried unless listed", spec: Spec{Attempts: 3}, method: "GET", outcomes: []int{503, 200}, wantCode: 503, wantCalls: 1},
		{desc: "a listed status is retried for GET", spec: Spec{Attempts: 3, Status: []string{"500-599"}}, method: "GET", outcomes: []int{503, 500, 200}, wantCode: 200, wantCalls: 3},
		{desc: "the last listed status still reaches the client", spec: Spec{Attempts: 2, Status: []string{"503"}}, method: "GET", outcomes: []int{503, 503}, wantCode: 503, wantCalls: 2},
		{desc: "POST without a body: status not retried", spec: Spec{Attempts: 3, Status: []string{"503"}}, method: "POST", outcomes: []int{503, 200}, wantCode: 503, wantCalls: 1},
		{desc: "POST without a body: refused connection retried", spec: Spec{Attempts: 3}, method: "POST", outcomes: []int{0, 200}, wantCode: 200, wantCalls: 2},
		{desc: "a request with a body is never retried", spec: Spec{Attempts: 3, Status: []string{"503"}}, method: "PUT", body: "x", outcomes: []int{0, 200}, wantCode: 502, wantCalls: 1},
		{desc: "attempts 1 is a single try", spec: Spec{Attempts: 1}, method: "GET", outcomes: []int{0, 200}, wantCode: 502, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			f := &flaky{outcomes: tt.outcomes}
			h := build(t, &tt.spec, f)
			var r *http.Request
			if tt.body != "" {
				r = httptest.NewRequest(tt.method, "http://127.0.0.1/", strings.NewReader(tt.body))
			} else {
				r = httptest.NewRequest(tt.method, "http://127.0.0.1/", nil)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.wantCode || f.calls != tt.wantCalls {
				t.Fatalf("got %d after %d calls, want %d after %d", rec.Code, f.calls, tt.wantCode, tt.wantCalls)
			}
			if rec.Code == 200 && (rec.Body.String() != "answer" || len(rec.Header()["X-Try"]) != 1) {
				t.Fatalf("withheld attempts leaked: body %q headers %v", rec.Body.String(), rec.Header())
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	f := &flaky{outcomes: []int{0, 0, 200}}
	h := build(t, &Spec{Attempts: 3, InitialInterval: config.Duration(20 * time.Millisecond)}, f)
	start := time.Now()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1/", nil))
	// 20 ms then 40 ms.
	if el := time.Since(start); rec.Code != 200 || el < 60*time.Millisecond {
		t.Fatalf("got %d after %v, want 200 after at least 60ms", rec.Code, el)
	}
}

func TestStreamingPassesThrough(t *testing.T) {
	// A response that is not withheld is streamed: the client sees the
	// first chunk (flushed) before the handler finishes.
	seen := make(chan struct{})
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(200)
		_, _ = w.Write([]byte("first"))
		w.(http.Flusher).Flush()
		<-seen
	})
	h := build(t, &Spec{Attempts: 3, Status: []string{"500-599"}}, next)
	rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder(), flushed: seen}
	h.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1/", nil))
	if rec.Body.String() != "first" {
		t.Fatalf("body %q", rec.Body.String())
	}
}

type flushRecorder struct {
	*httptest.ResponseRecorder
	flushed chan struct{}
}

func (f *flushRecorder) Flush() {
	f.ResponseRecorder.Flush()
	if f.Body.String() == "first" {
		close(f.flushed)
	}
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		desc    string
		spec    Spec
		wantErr string
	}{
		{desc: "ok", spec: Spec{Attempts: 3, Status: []string{"500-599", "429"}}},
		{desc: "no attempts", spec: Spec{}, wantErr: "attempts"},
		{desc: "too many", spec: Spec{Attempts: 100}, wantErr: "at most"},
		{desc: "bad status", spec: Spec{Attempts: 2, Status: []string{"5xx"}}, wantErr: "status"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := tt.spec.Validate()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
}
