//go:build obs

package observability

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// accessLines waits until the access log at path has at least n lines
// for the web entrypoint and returns them decoded. Lines of the traefik
// entrypoint are left out: the harness polls /ping there before berth's
// own routers are in force, which logs 404s.
func accessLines(t *testing.T, b *berth, path string, n int) []map[string]any {
	t.Helper()
	var out []map[string]any
	b.waitFor(5*time.Second, "access log lines", func() bool {
		data, _ := os.ReadFile(path)
		out = out[:0]
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if l == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("line is not JSON: %v: %s", err, l)
			}
			if m["entryPointName"] == "web" {
				out = append(out, m)
			}
		}
		return len(out) >= n
	})
	return out
}

func wsBackend(t *testing.T) string {
	return backend(t, func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		typ, msg, err := c.Read(r.Context())
		if err != nil {
			return
		}
		_ = c.Write(r.Context(), typ, msg)
		_ = c.Close(websocket.StatusNormalClosure, "")
	})
}

// TestAccessLogJSON checks the JSON lines of a normal request, an error, a
// request no router matches and a WebSocket, with Traefik's field names.
func TestAccessLogJSON(t *testing.T) {
	be := okBackend(t)
	ws := wsBackend(t)
	logPath := filepath.Join(t.TempDir(), "access.log")
	b := startBerth(t, appConfig(be, `    ws:
      rule: "Host(`+"`ws.localhost`"+`)"
      service: ws
`)+`    ws:
      loadBalancer:
        servers:
          - url: "`+ws+`"
`, "--accessLog=true", "--accessLog.format=json", "--accessLog.filePath="+logPath)

	_, hdr, _ := get(t, "GET", b.web+"/path?q=1", "app.localhost", map[string]string{"User-Agent": "obs-test"})
	get(t, "GET", b.web+"/?status=503", "app.localhost", nil)
	get(t, "GET", b.web+"/", "nobody.localhost", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	wsURL := strings.Replace(b.web, "http://", "ws://", 1) + "/chat"
	c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Host: "ws.localhost"})
	if err != nil {
		t.Fatalf("websocket dial: %v", err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != "hello" {
		t.Fatalf("websocket echo: %q %v", msg, err)
	}
	c.CloseNow()

	lines := accessLines(t, b, logPath, 4)
	for _, tc := range []struct {
		desc string
		line map[string]any
		want map[string]any
	}{
		{desc: "normal request", line: lines[0], want: map[string]any{
			"DownstreamStatus": 200.0, "OriginStatus": 200.0, "DownstreamContentSize": 2.0, "RequestMethod": "GET",
			"RequestPath": "/path?q=1", "RequestHost": "app.localhost", "RequestProtocol": "HTTP/1.1",
			"RouterName": "app@file", "ServiceName": "app@file", "ServiceURL": be, "entryPointName": "web",
			"ClientHost": "127.0.0.1", "RetryAttempts": 0.0, "RequestID": hdr.Get("X-Request-Id"),
		}},
		{desc: "error from the backend", line: lines[1], want: map[string]any{
			"DownstreamStatus": 503.0, "OriginStatus": 503.0, "RouterName": "app@file",
		}},
		{desc: "no router", line: lines[2], want: map[string]any{
			"DownstreamStatus": 404.0, "RouterName": nil, "ServiceURL": nil,
		}},
		{desc: "websocket", line: lines[3], want: map[string]any{
			"DownstreamStatus": 101.0, "RouterName": "ws@file", "RequestPath": "/chat", "ServiceURL": ws,
		}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			for k, v := range tc.want {
				if got := tc.line[k]; got != v {
					t.Errorf("%s = %#v, want %#v", k, got, v)
				}
			}
			for _, k := range []string{"Duration", "StartUTC", "RequestCount", "ClientPort"} {
				if _, ok := tc.line[k]; !ok {
					t.Errorf("field %s missing", k)
				}
			}
			if t.Failed() {
				t.Logf("line: %v", tc.line)
			}
		})
	}
	if hdr.Get("X-Request-Id") == "" {
		t.Error("the client got no X-Request-Id")
	}
}

// TestAccessLogRetries sends requests through the retry middleware to a
// backend that answers every other request 503: each request is retried
// once, logged with RetryAttempts (the retryAttempts filter keeps it) and
// counted in service_retries_total.
func TestAccessLogRetries(t *testing.T) {
	var n atomic.Int64
	be := backend(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	logPath := filepath.Join(t.TempDir(), "access.log")
	b := startBerth(t, `http:
  routers:
    app:
      rule: "Host(`+"`app.localhost`"+`)"
      service: app
      middlewares: [retry]
  middlewares:
    retry:
      retry:
        attempts: 3
        status: ["503"]
  services:
    app:
      loadBalancer:
        servers:
          - url: "`+be+`"
`, "--accessLog=true", "--accessLog.format=json", "--accessLog.filePath="+logPath, "--accessLog.filters.retryAttempts=true",
		"--metrics.prometheus=true")
	const sent = 4
	for range sent {
		if code, _, _ := get(t, "GET", b.web+"/", "app.localhost", nil); code != 200 {
			t.Fatalf("status %d, want 200 after a retry", code)
		}
	}
	time.Sleep(300 * time.Millisecond) // past the writer's flush delay
	lines := accessLines(t, b, logPath, sent)
	if len(lines) != sent {
		t.Errorf("%d lines, want %d", len(lines), sent)
	}
	for _, l := range lines {
		if l["RetryAttempts"] != 1.0 || l["ServiceURL"] != be || l["DownstreamStatus"] != 200.0 {
			t.Errorf("retried line: %v", l)
		}
	}
	if v := metricValue(b.metricsText(), `berth_service_retries_total{service="app@file"}`); v != sent {
		t.Errorf("service_retries_total = %v, want %d", v, sent)
	}
}

// TestAccessLogFiltersAndFields checks status-code filters, field modes,
// and that Authorization and cookies are redacted.
func TestAccessLogFiltersAndFields(t *testing.T) {
	be := okBackend(t)
	logPath := filepath.Join(t.TempDir(), "access.log")
	b := startBerth(t, appConfig(be, ""), "--accessLog=true", "--accessLog.format=json", "--accessLog.filePath="+logPath,
		"--accessLog.filters.statusCodes=400-499",
		"--accessLog.fields.names.ClientHost=drop",
		"--accessLog.fields.names.RequestPath=redact",
		"--accessLog.fields.headers.defaultMode=keep",
		"--accessLog.fields.headers.names.Authorization=keep",
		"--accessLog.fields.headers.names.X-Secret=drop",
	)
	get(t, "GET", b.web+"/", "app.localhost", nil) // 200: filtered out
	get(t, "GET", b.web+"/secret?status=404", "app.localhost", map[string]string{
		"Authorization": "Bearer s3cr3t", "Cookie": "session=abc", "X-Secret": "hidden", "User-Agent": "obs-test",
	})
	// Wait past the writer's flush delay so that a wrongly kept 200 line
	// would be in the file too.
	time.Sleep(300 * time.Millisecond)
	lines := accessLines(t, b, logPath, 1)
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want only the 404: %v", len(lines), lines)
	}
	l := lines[0]
	for _, tc := range []struct {
		desc, key string
		want      any
	}{
		{desc: "status kept by the filter", key: "DownstreamStatus", want: 404.0},
		{desc: "dropped field", key: "ClientHost", want: nil},
		{desc: "redacted field", key: "RequestPath", want: "REDACTED"},
		{desc: "Authorization is redacted even when kept", key: "request_Authorization", want: "REDACTED"},
		{desc: "cookies are redacted by default", key: "request_Cookie", want: "REDACTED"},
		{desc: "dropped header", key: "request_X-Secret", want: nil},
		{desc: "kept header", key: "request_User-Agent", want: "obs-test"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := l[tc.key]; got != tc.want {
				t.Errorf("%s = %#v, want %#v", tc.key, got, tc.want)
			}
		})
	}
	data, _ := os.ReadFile(logPath)
	for _, secret := range []string{"s3cr3t", "session=abc", "hidden"} {
		if strings.Contains(string(data), secret) {
			t.Errorf("the access log contains %q:\n%s", secret, data)
		}
	}
}

// TestAccessLogCommonAndReopen checks the CLF line and that SIGUSR1 makes
// berth write to a new file after logrotate moved the old one.
func TestAccessLogCommonAndReopen(t *testing.T) {
	be := okBackend(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	b := startBerth(t, appConfig(be, ""), "--accessLog=true", "--accessLog.filePath="+logPath)
	get(t, "GET", b.web+"/one", "app.localhost", map[string]string{"User-Agent": "obs-test", "Referer": "http://ref/"})
	var first string
	b.waitFor(5*time.Second, "first CLF line", func() bool {
		data, _ := os.ReadFile(logPath)
		for _, l := range strings.SplitAfter(string(data), "\n") {
			if strings.Contains(l, "GET /one") {
				first = l
				return true
			}
		}
		return false
	})
	for _, want := range []string{`127.0.0.1 - - [`, `] "GET /one HTTP/1.1" 200 2 "http://ref/" "obs-test" `, ` "app@file" "` + be + `" `, "ms\n"} {
		if !strings.Contains(first, want) {
			t.Errorf("CLF line %q lacks %q", first, want)
		}
	}
	rotated := logPath + ".1"
	if err := os.Rename(logPath, rotated); err != nil {
		t.Fatal(err)
	}
	b.signal(syscall.SIGUSR1)
	b.waitFor(5*time.Second, "the log file to be reopened", func() bool {
		_, err := os.Stat(logPath)
		return err == nil
	})
	get(t, "GET", b.web+"/two", "app.localhost", nil)
	b.waitFor(5*time.Second, "a line in the new file", func() bool {
		data, _ := os.ReadFile(logPath)
		return strings.Contains(string(data), "GET /two")
	})
	old, _ := os.ReadFile(rotated)
	if strings.Contains(string(old), "/two") {
		t.Errorf("the rotated file got the new line:\n%s", old)
	}
}
