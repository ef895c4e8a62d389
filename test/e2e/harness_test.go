//go:build e2e

// Package e2e runs the real berth binary on loopback in front of real
// backends and checks what a user would see. Run with
// `go test -tags e2e ./test/...` (make test-e2e).
package e2e

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthproxy/berth/test/testutil"
)

// berthBin is the binary under test, built once by TestMain.
var berthBin string

func TestMain(m *testing.M) { os.Exit(testutil.RunWithBerth(m, &berthBin)) }

// instance is one running berth.
type instance struct {
	ports   map[string]int // entrypoint name → loopback port
	dir     string
	dynPath string
	t       testing.TB
	proc    *testutil.Proc
	cmd     *exec.Cmd
	exited  <-chan struct{}
}

// start runs berth with the given entrypoint names (each on a free
// loopback port), a dynamic file with the given content, /ping on the
// internal entrypoint, and extra flags.
func start(t testing.TB, entryPoints []string, dynamic string, extra ...string) *instance {
	t.Helper()
	in := &instance{t: t, dir: t.TempDir(), ports: map[string]int{}}
	in.dynPath = filepath.Join(in.dir, "dynamic.yml")
	in.writeDynamic(dynamic)
	args := []string{"--providers.file.filename=" + in.dynPath, "--providers.file.watch=true", "--ping=true", "--log.level=DEBUG"}
	for _, ep := range append(entryPoints, "traefik") {
		p := testutil.FreePort(t)
		in.ports[ep] = p
		args = append(args, fmt.Sprintf("--entryPoints.%s.address=127.0.0.1:%d", ep, p))
	}
	args = append(args, extra...)
	in.proc = testutil.Start(t, "berth", nil, berthBin, args...)
	in.proc.StopTimeout = 15 * time.Second
	in.cmd, in.exited = in.proc.Cmd, in.proc.Done()
	testutil.WaitHTTP200(t, in.proc, fmt.Sprintf("http://127.0.0.1:%d/ping", in.ports["traefik"]), 10*time.Second)
	return in
}

// Log returns what berth printed so far.
func (in *instance) Log() string { return in.proc.Log() }

// writeDynamic replaces the dynamic file atomically, as editors do.
func (in *instance) writeDynamic(content string) {
	in.t.Helper()
	testutil.WriteAtomic(in.t, in.dynPath, content)
}

// url returns a URL on an entrypoint.
func (in *instance) url(ep, path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", in.ports[ep], path)
}

// get sends a GET with a Host header and returns status and body.
func get(t testing.TB, url, host string) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(aNewReq(t, url, host))
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
	testutil.Eventually(t, timeout, func() error {
		if s := f(); s != "" {
			return errors.New(s)
		}
		return nil
	})
}

// backend starts a named HTTP backend on loopback that answers with its
// name, and returns its URL.
func backend(t testing.TB, name string) string {
	t.Helper()
	return testutil.Serve(t, &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", name)
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	})})
}

func yamlServers(urls ...string) string {
	var b strings.Builder
	for _, u := range urls {
		fmt.Fprintf(&b, "          - url: %q\n", u)
	}
	return b.String()
}
