//go:build obs

// Package observability runs the real berth binary on loopback and checks
// what its operators see: /metrics (also through promtool and a real
// Prometheus server), the access log, the API and the dashboard in a real
// headless Chromium. Run with `go test -tags obs ./test/observability`
// (make test-obs); it needs the Debian packages prometheus and chromium.
package observability

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthproxy/berth/test/testutil"
)

var berthBin string

func TestMain(m *testing.M) { os.Exit(testutil.RunWithBerth(m, &berthBin)) }

// berth is one running berth with a web and a traefik entrypoint.
type berth struct {
	t       testing.TB
	proc    *testutil.Proc
	dir     string
	dynPath string
	web     string // base URL of the web entrypoint
	admin   string // base URL of the traefik entrypoint
}

// startBerth runs berth with the dynamic file content and extra flags.
func startBerth(t testing.TB, dynamic string, extra ...string) *berth {
	t.Helper()
	b := &berth{t: t, dir: t.TempDir()}
	b.dynPath = filepath.Join(b.dir, "dynamic.yml")
	b.writeDynamic(dynamic)
	webPort, adminPort := testutil.FreePort(t), testutil.FreePort(t)
	b.web = fmt.Sprintf("http://127.0.0.1:%d", webPort)
	b.admin = fmt.Sprintf("http://127.0.0.1:%d", adminPort)
	args := append([]string{
		"--providers.file.filename=" + b.dynPath, "--providers.file.watch=true",
		"--ping=true", "--log.level=INFO",
		fmt.Sprintf("--entryPoints.web.address=127.0.0.1:%d", webPort),
		fmt.Sprintf("--entryPoints.traefik.address=127.0.0.1:%d", adminPort),
	}, extra...)
	b.proc = testutil.Start(t, "berth", nil, berthBin, args...)
	testutil.WaitHTTP200(t, b.proc, b.admin+"/ping", 10*time.Second)
	return b
}

// log returns what berth printed so far.
func (b *berth) log() string { return b.proc.Log() }

func (b *berth) signal(sig os.Signal) {
	b.t.Helper()
	if err := b.proc.Signal(sig); err != nil {
		b.t.Fatal(err)
	}
}

// writeDynamic replaces the dynamic file atomically, as an editor would.
func (b *berth) writeDynamic(content string) {
	b.t.Helper()
	testutil.WriteAtomic(b.t, b.dynPath, content)
}

func (b *berth) waitFor(d time.Duration, what string, cond func() bool) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-b.proc.Done():
			b.t.Fatalf("berth exited while waiting for %s:\n%s", what, b.log())
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
	return testutil.Serve(t, &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second})
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
	return send(t, "POST", url, host, body)
}

// putBody sends a PUT with body.
func putBody(t testing.TB, url string, body io.Reader) (int, http.Header, string) {
	t.Helper()
	return send(t, "PUT", url, "", body)
}

// send sends a request with body; it fails the test on a transport error.
func send(t testing.TB, method, url, host string, body io.Reader) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
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
