//go:build e2e

// Package e2e runs the real berth binary on loopback in front of real
// backends and checks what a user would see. Run with
// `go test -tags e2e ./test/...` (make test-e2e).
package e2e

import (
	"bytes"
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

// berthBin is the binary under test, built once by TestMain.
var berthBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "berth-e2e-")
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

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// instance is one running berth.
type instance struct {
	t       testing.TB
	cmd     *exec.Cmd
	dir     string
	dynPath string
	ports   map[string]int
	mu      sync.Mutex
	log     bytes.Buffer
	exited  chan struct{}
}

// start runs berth with the given entrypoint names (each on a free
// loopback port), a dynamic file with the given content, /ping on the
// internal entrypoint, and extra flags.
func start(t testing.TB, entryPoints []string, dynamic string, extra ...string) *instance {
	t.Helper()
	in := &instance{t: t, dir: t.TempDir(), ports: map[string]int{}, exited: make(chan struct{})}
	in.dynPath = filepath.Join(in.dir, "dynamic.yml")
	in.writeDynamic(dynamic)
	args := []string{"--providers.file.filename=" + in.dynPath, "--providers.file.watch=true", "--ping=true", "--log.level=DEBUG"}
	for _, ep := range append(entryPoints, "traefik") {
		p := freePort(t)
		in.ports[ep] = p
		args = append(args, fmt.Sprintf("--entryPoints.%s.address=127.0.0.1:%d", ep, p))
	}
	args = append(args, extra...)
	in.cmd = exec.Command(berthBin, args...)
	in.cmd.Stdout = in
	in.cmd.Stderr = in
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = in.cmd.Wait(); close(in.exited) }()
	t.Cleanup(in.stop)
	in.waitReady()
	return in
}

// Write collects berth's output so a failing test can show it.
func (in *instance) Write(p []byte) (int, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.log.Write(p)
}

// Log returns what berth printed so far.
func (in *instance) Log() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.log.String()
}

func (in *instance) stop() {
	select {
	case <-in.exited:
	default:
		_ = in.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-in.exited:
		case <-time.After(15 * time.Second):
			_ = in.cmd.Process.Kill()
			<-in.exited
		}
	}
	if in.t.Failed() {
		in.t.Logf("berth output:\n%s", in.Log())
	}
}

func (in *instance) waitReady() {
	in.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	// A short client timeout keeps a berth that accepts but hangs from
	// blocking past the deadline.
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/ping", in.ports["traefik"]))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-in.exited:
			in.t.Fatalf("berth exited early:\n%s", in.Log())
		case <-time.After(20 * time.Millisecond):
		}
	}
	in.t.Fatalf("berth not ready after 10s:\n%s", in.Log())
}

// writeDynamic replaces the dynamic file atomically, as editors do.
func (in *instance) writeDynamic(content string) {
	in.t.Helper()
	tmp := in.dynPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		in.t.Fatal(err)
	}
	if err := os.Rename(tmp, in.dynPath); err != nil {
		in.t.Fatal(err)
	}
}

// url returns a URL on an entrypoint.
func (in *instance) url(ep, path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", in.ports[ep], path)
}

// get sends a GET with a Host header and returns status and body.
func get(t testing.TB, url, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s (Host %s): %v", url, host, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eventually retries f until it returns "" or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, f func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		if last = f(); last == "" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("condition not met after %v: %s", timeout, last)
}

// backend starts a named HTTP backend on loopback that answers with its
// name, and returns its URL.
func backend(t testing.TB, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", name)
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func yamlServers(urls ...string) string {
	var b strings.Builder
	for _, u := range urls {
		fmt.Fprintf(&b, "          - url: %q\n", u)
	}
	return b.String()
}
