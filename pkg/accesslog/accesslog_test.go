package accesslog

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/reqinfo"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func logOne(t *testing.T, cfg *config.AccessLog, status int, hdr map[string]string) string {
	t.Helper()
	var out lockedBuffer
	l, err := NewWriter(cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/p?q=1", nil)
	r.Host = "app.example"
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := &reqinfo.Record{Start: start, End: start.Add(1500 * time.Millisecond), EntryPoint: "web", Router: "app@file",
		Service: "app@file", ServiceURL: "http://10.0.0.1:80", Status: status, Size: 42, OriginDuration: time.Second, RequestID: "rid"}
	l.Log(r, rec, http.Header{"Set-Cookie": {"s=1"}, "Content-Type": {"text/plain"}})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestJSONFieldsAndRedaction(t *testing.T) {
	cfg := &config.AccessLog{Format: "json", Fields: &config.AccessLogFields{
		Names:   map[string]string{"ClientPort": "drop", "RequestHost": "redact"},
		Headers: &config.FieldHeaders{DefaultMode: "keep", Names: map[string]string{"Authorization": "keep", "X-Drop": "drop"}},
	}}
	line := logOne(t, cfg, 201, map[string]string{"Authorization": "Basic dTpw", "Cookie": "a=b", "X-Drop": "x", "User-Agent": "ua"})
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	for _, tc := range []struct {
		desc, key string
		want      any
	}{
		{desc: "status", key: "DownstreamStatus", want: 201.0},
		{desc: "duration in ns", key: "Duration", want: 1.5e9},
		{desc: "overhead", key: "Overhead", want: 0.5e9},
		{desc: "router", key: "RouterName", want: "app@file"},
		{desc: "entrypoint as Traefik spells it", key: "entryPointName", want: "web"},
		{desc: "request id", key: "RequestID", want: "rid"},
		{desc: "dropped field", key: "ClientPort", want: nil},
		{desc: "redacted field", key: "RequestHost", want: "REDACTED"},
		{desc: "Authorization always redacted", key: "request_Authorization", want: "REDACTED"},
		{desc: "cookie redacted by default", key: "request_Cookie", want: "REDACTED"},
		{desc: "set-cookie redacted by default", key: "downstream_Set-Cookie", want: "REDACTED"},
		{desc: "dropped header", key: "request_X-Drop", want: nil},
		{desc: "kept header", key: "request_User-Agent", want: "ua"},
		{desc: "user from basic auth", key: "ClientUsername", want: "u"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := m[tc.key]; got != tc.want {
				t.Errorf("%s = %#v, want %#v", tc.key, got, tc.want)
			}
		})
	}
	if strings.Contains(line, "dTpw") {
		t.Errorf("credentials leaked: %s", line)
	}
}

func TestCommonFormat(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		format string
		want   string
	}{
		{desc: "common", format: "common", want: `192.0.2.1 - - [02/Jan/2026:03:04:05 +0000] "GET /p?q=1 HTTP/1.1" 200 42 "-" "ua \"quoted\"" 1 "app@file" "http://10.0.0.1:80" 1500ms` + "\n"},
		{desc: "genericCLF", format: "genericCLF", want: `192.0.2.1 - - [02/Jan/2026:03:04:05 +0000] "GET /p?q=1 HTTP/1.1" 200 42 "-" "ua \"quoted\""` + "\n"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got := logOne(t, &config.AccessLog{Format: tc.format}, 200, map[string]string{"User-Agent": `ua "quoted"`})
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestFilters(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		filters *config.AccessLogFilters
		status  int
		retries int
		dur     time.Duration
		keep    bool
	}{
		{desc: "no filter keeps all", status: 200, keep: true},
		{desc: "range matches", filters: &config.AccessLogFilters{StatusCodes: []string{"400-499"}}, status: 404, keep: true},
		{desc: "range misses", filters: &config.AccessLogFilters{StatusCodes: []string{"400-499"}}, status: 200},
		{desc: "single code", filters: &config.AccessLogFilters{StatusCodes: []string{"502"}}, status: 502, keep: true},
		{desc: "retried", filters: &config.AccessLogFilters{RetryAttempts: true}, status: 200, retries: 1, keep: true},
		{desc: "not retried", filters: &config.AccessLogFilters{RetryAttempts: true}, status: 200},
		{desc: "slow", filters: &config.AccessLogFilters{MinDuration: config.Duration(time.Second)}, status: 200, dur: 2 * time.Second, keep: true},
		{desc: "fast", filters: &config.AccessLogFilters{MinDuration: config.Duration(time.Second)}, status: 200, dur: time.Millisecond},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			f := filter{}
			if tc.filters != nil {
				var err error
				if f, err = newFilter(tc.filters); err != nil {
					t.Fatal(err)
				}
			}
			rec := &reqinfo.Record{Status: tc.status, RetryAttempts: tc.retries}
			if got := f.keep(rec, tc.dur); got != tc.keep {
				t.Errorf("keep = %v, want %v", got, tc.keep)
			}
		})
	}
}

func TestBadConfig(t *testing.T) {
	for _, tc := range []struct {
		desc string
		cfg  *config.AccessLog
	}{
		{desc: "bad status range", cfg: &config.AccessLog{Filters: &config.AccessLogFilters{StatusCodes: []string{"499-400"}}}},
		{desc: "bad format", cfg: &config.AccessLog{Format: "xml"}},
		{desc: "bad mode", cfg: &config.AccessLog{Fields: &config.AccessLogFields{DefaultMode: "hide"}}},
		{desc: "unknown field", cfg: &config.AccessLog{Fields: &config.AccessLogFields{Names: map[string]string{"Nope": "drop"}}}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if _, err := NewWriter(tc.cfg, &bytes.Buffer{}); err == nil {
				t.Error("no error")
			}
		})
	}
}

// blockingWriter blocks until released, to fill the queue.
type blockingWriter struct{ release chan struct{} }

func (b blockingWriter) Write(p []byte) (int, error) { <-b.release; return len(p), nil }

func TestDropsWhenFull(t *testing.T) {
	bw := blockingWriter{release: make(chan struct{})}
	l, err := NewWriter(&config.AccessLog{BufferingSize: 2}, bw)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	for range 10 {
		l.Log(r, &reqinfo.Record{Start: time.Now(), Status: 200}, http.Header{})
	}
	if l.Dropped() == 0 {
		t.Error("nothing was dropped although the writer is blocked")
	}
	close(bw.release)
	_ = l.Close()
}

func BenchmarkLogJSON(b *testing.B) {
	l, _ := NewWriter(&config.AccessLog{Format: "json", BufferingSize: 1 << 16}, discard{})
	r := httptest.NewRequest("GET", "http://app.example/p?q=1", nil)
	rec := &reqinfo.Record{Start: time.Now(), Status: 200, Router: "app@file", ServiceURL: "http://10.0.0.1"}
	b.ReportAllocs()
	for b.Loop() {
		l.Log(r, rec, http.Header{})
	}
	_ = l.Close()
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
