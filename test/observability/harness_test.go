//go:build obs

// Package observability runs the real berth binary on loopback and checks
// what its operators see: /metrics (also through promtool and a real
// Prometheus server), the access log, the API and the dashboard in a real
// headless Chromium. Run with `go test -tags obs ./test/observability`
// (make test-obs); it needs the Debian packages prometheus and chromium.
package observability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var berthBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "berth-obs-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	berthBin = filepath.Join(dir, "berth")
	cmd := exec.Command("go", "build", "-o", berthBin, "../../cmd/berth")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building berth: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// syncBuffer is a bytes.Buffer safe for a process writing and a test reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// berth is one running berth with a web and a traefik entrypoint.
type berth struct {
	t       testing.TB
	cmd     *exec.Cmd
	dir     string
	dynPath string
	web     string // base URL of the web entrypoint
	admin   string // base URL of the traefik entrypoint
	log     syncBuffer
	exited  chan struct{}
}

// startBerth runs berth with the dynamic file content and extra flags.
func startBerth(t testing.TB, dynamic string, extra ...string) *berth {
	t.Helper()
	b := &berth{t: t, dir: t.TempDir(), exited: make(chan struct{})}
	b.dynPath = filepath.Join(b.dir, "dynamic.yml")
	b.writeDynamic(dynamic)
	webPort, adminPort := freePort(t), freePort(t)
	b.web = fmt.Sprintf("http://127.0.0.1:%d", webPort)
	b.admin = fmt.Sprintf("http://127.0.0.1:%d", adminPort)
	args := append([]string{
		"--providers.file.filename=" + b.dynPath, "--providers.file.watch=true",
		"--ping=true", "--log.level=INFO",
		fmt.Sprintf("--entryPoints.web.address=127.0.0.1:%d", webPort),
		fmt.Sprintf("--entryPoints.traefik.address=127.0.0.1:%d", adminPort),
	}, extra...)
	b.cmd = exec.Command(berthBin, args...)
	b.cmd.Stdout = &b.log
	b.cmd.Stderr = &b.log
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = b.cmd.Wait(); close(b.exited) }()
	t.Cleanup(b.stop)
	b.waitFor(10*time.Second, "berth to answer /ping", func() bool {
		resp, err := http.Get(b.admin + "/ping")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return b
}

func (b *berth) stop() {
	select {
	case <-b.exited:
		return
	default:
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.exited
	}
	if b.t.Failed() {
		b.t.Logf("berth log:\n%s", b.log.String())
	}
}

func (b *berth) signal(sig os.Signal) {
	b.t.Helper()
	if err := b.cmd.Process.Signal(sig); err != nil {
		b.t.Fatal(err)
	}
}

// writeDynamic replaces the dynamic file atomically, as an editor would.
func (b *berth) writeDynamic(content string) {
	b.t.Helper()
	tmp := b.dynPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		b.t.Fatal(err)
	}
	if err := os.Rename(tmp, b.dynPath); err != nil {
		b.t.Fatal(err)
	}
}

func (b *berth) waitFor(d time.Duration, what string, cond func() bool) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-b.exited:
			b.t.Fatalf("berth exited while waiting for %s:\n%s", what, b.log.String())
		default:
		}
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("timed out waiting for %s", what)
}

// get sends a request and returns the status and body.
func get(t testing.TB, method, url, host string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

var client = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// getJSON decodes a JSON answer of the API.
func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	code, _, body := get(t, "GET", url, "", nil)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, body)
	}
}

// backend starts an HTTP backend on loopback.
func backend(t testing.TB, h http.HandlerFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// okBackend answers 200 "ok", or the status in ?status=.
func okBackend(t testing.TB) string {
	return backend(t, func(w http.ResponseWriter, r *http.Request) {
		if s := r.URL.Query().Get("status"); s != "" {
			var code int
			fmt.Sscan(s, &code)
			w.WriteHeader(code)
		}
		_, _ = io.WriteString(w, "ok")
	})
}

func appConfig(backendURL string, extraRouters string) string {
	return `http:
  routers:
    app:
      rule: "Host(` + "`app.localhost`" + `)"
      service: app
` + extraRouters + `  services:
    app:
      loadBalancer:
        servers:
          - url: "` + backendURL + `"
`
}

// metricsText fetches /metrics.
func (b *berth) metricsText() string {
	b.t.Helper()
	code, _, body := get(b.t, "GET", b.admin+"/metrics", "", nil)
	if code != 200 {
		b.t.Fatalf("/metrics: %d", code)
	}
	return body
}

// metricValue returns the value of the sample whose line starts with
// series (name{labels} exactly as exposed), or -1.
func metricValue(text, series string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, series+" ") {
			var v float64
			fmt.Sscan(strings.TrimPrefix(line, series+" "), &v)
			return v
		}
	}
	return -1
}

// postBody sends a POST with body.
func postBody(t testing.TB, url, host string, body io.Reader) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("POST", url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// putBody sends a PUT with body.
func putBody(t testing.TB, url string, body io.Reader) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("PUT", url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func newReq(url, host string) (*http.Request, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err == nil {
		req.Host = host
	}
	return req, err
}

// skipOrFail skips a test whose tool is missing on a developer's machine,
// but fails it in CI (CI set), where .ci/run installs every tool: a suite
// that silently skips proves nothing.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
}
