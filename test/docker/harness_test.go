//go:build docker

// Package dockere2e runs berth's Docker provider against the local Docker
// engine. The tests build a small static test server into images FROM
// scratch, start labelled containers, run the berth binary on the host and
// send requests through it. Everything they create is labelled
// berth.test=1 and berth.test.run=<id>, and is removed by label at the
// end, even when a test fails.
//
// Run them with `make test-docker`; deploy/ensure-docker.sh starts an
// engine if none answers. Without an engine the tests fail: they do not
// skip.
package dockere2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

var (
	// runID keeps this run's containers apart from any other's.
	runID string
	// berthBin is the berth binary built for the tests.
	berthBin string
	// image is the test server's image; imageHC the same with a
	// HEALTHCHECK.
	image, imageHC string
	// workDir holds the binaries and image contexts.
	workDir string
	// repoRoot is the module's root directory.
	repoRoot string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the Docker engine does not answer (run deploy/ensure-docker.sh): %v\n%s", err, out)
		return 1
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	runID = hex.EncodeToString(b)
	var err error
	workDir, err = os.MkdirTemp("", "berth-docker-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)
	defer cleanupAll()
	root, err := testutil.ModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = root
	if err := setup(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: setup: %v\n", err)
		return 1
	}
	return m.Run()
}

// setup builds berth, the test server and its two images.
func setup() error {
	berthBin = filepath.Join(workDir, "bin", "berth")
	ctxDir := filepath.Join(workDir, "backend")
	if err := testutil.GoBuild(berthBin, "./cmd/berth"); err != nil {
		return err
	}
	if err := testutil.GoBuild(filepath.Join(ctxDir, "backend"), "./test/docker/backend"); err != nil {
		return err
	}
	image, imageHC = "berth-e2e-backend:"+runID, "berth-e2e-backend-hc:"+runID
	plain := "FROM scratch\nCOPY backend /backend\nEXPOSE 80\nENTRYPOINT [\"/backend\"]\n"
	hc := plain + "HEALTHCHECK --interval=500ms --timeout=2s --start-period=60s --retries=2 CMD [\"/backend\", \"-check\"]\n"
	for _, img := range []struct{ tag, dockerfile string }{{image, plain}, {imageHC, hc}} {
		df := filepath.Join(ctxDir, "Dockerfile")
		if err := os.WriteFile(df, []byte(img.dockerfile), 0o644); err != nil {
			return err
		}
		if out, err := exec.Command("docker", "build", "-q", "--label", "berth.test=1", "--label", "berth.test.run="+runID,
			"-t", img.tag, ctxDir).CombinedOutput(); err != nil {
			return fmt.Errorf("docker build: %v\n%s", err, out)
		}
	}
	return nil
}

// cleanupAll removes every container, network and image of this run, by
// label.
func cleanupAll() {
	filter := "label=berth.test.run=" + runID
	if ids := strings.Fields(dockerOut("ps", "-aq", "--filter", filter)); len(ids) > 0 {
		_ = exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
	}
	if ids := strings.Fields(dockerOut("network", "ls", "-q", "--filter", filter)); len(ids) > 0 {
		_ = exec.Command("docker", append([]string{"network", "rm"}, ids...)...).Run()
	}
	if ids := strings.Fields(dockerOut("images", "-q", "--filter", filter)); len(ids) > 0 {
		_ = exec.Command("docker", append([]string{"rmi", "-f"}, ids...)...).Run()
	}
}

func dockerOut(args ...string) string {
	out, _ := exec.Command("docker", args...).Output()
	return string(out)
}

// docker runs the docker CLI and returns its trimmed output.
func docker(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// container describes a test container to start.
type container struct {
	name   string
	image  string
	labels []string
	env    []string
	args   []string // more `docker run` flags
}

// start runs the container detached, labelled as this run's, and returns
// its name; the container is removed when the test ends.
func start(t testing.TB, c container) string {
	t.Helper()
	name := c.name + "-" + runID
	args := []string{"run", "-d", "--name", name, "--label", "berth.test=1", "--label", "berth.test.run=" + runID}
	for _, l := range c.labels {
		args = append(args, "--label", l)
	}
	for _, e := range c.env {
		args = append(args, "-e", e)
	}
	args = append(args, c.args...)
	img := c.image
	if img == "" {
		img = image
	}
	docker(t, append(args, img)...)
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
	return name
}

// ip returns a container's address on a network ("" for its only one).
func ip(t testing.TB, name, network string) string {
	t.Helper()
	f := "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"
	if network != "" {
		f = "{{(index .NetworkSettings.Networks \"" + network + "\").IPAddress}}"
	}
	return strings.Fields(docker(t, "inspect", "-f", f, name))[0]
}

// berth is a running berth process.
type berth struct {
	web, ping string
	*testutil.Proc
}

// startBerth runs berth with the Docker provider, restricted to this run's
// containers by a constraint unless flags set constraints themselves.
func startBerth(t testing.TB, flags ...string) *berth {
	t.Helper()
	b := &berth{web: testutil.FreeAddr(t), ping: testutil.FreeAddr(t)}
	args := []string{
		"--entryPoints.web.address=" + b.web,
		"--entryPoints.traefik.address=" + b.ping,
		"--ping=true",
		"--providers.docker=true",
		"--log.level=DEBUG",
	}
	hasConstraints := false
	for _, f := range flags {
		hasConstraints = hasConstraints || strings.HasPrefix(f, "--providers.docker.constraints=")
	}
	if !hasConstraints {
		args = append(args, "--providers.docker.constraints=Label(`berth.test.run`, `"+runID+"`)")
	}
	b.Proc = testutil.Start(t, "berth", nil, berthBin, append(args, flags...)...)
	b.LogTail = 60
	t.Cleanup(b.Kill) // runs before Start's cleanup, which logs the tail
	testutil.WaitHTTP200(t, b.Proc, "http://"+b.ping+"/ping", 10*time.Second)
	return b
}

var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// get sends GET path with Host host through berth.
func (b *berth) get(host, path string) (int, string, error) {
	req, err := http.NewRequest("GET", "http://"+b.web+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// waitStatus waits until host answers want.
func (b *berth) waitStatus(t testing.TB, host string, want int, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, func() error {
		code, body, err := b.get(host, "/")
		if err != nil {
			return err
		}
		if code != want {
			return fmt.Errorf("%s answers %d %q, want %d", host, code, strings.TrimSpace(body), want)
		}
		return nil
	})
}

// eventually retries f until it succeeds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	testutil.Eventually(t, timeout, f)
}

// network creates a labelled network removed at the end of the test.
func network(t testing.TB, name string) string {
	t.Helper()
	name = name + "-" + runID
	docker(t, "network", "create", "--label", "berth.test=1", "--label", "berth.test.run="+runID, name)
	t.Cleanup(func() { _ = exec.Command("docker", "network", "rm", name).Run() })
	return name
}

// hostsSeen sends n requests and returns which containers answered.
func (b *berth) hostsSeen(t testing.TB, host string, n int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for range n {
		code, body, err := b.get(host, "/")
		if err != nil || code != 200 {
			t.Fatalf("%s: %d %v %q", host, code, err, body)
		}
		seen[strings.Fields(body)[0]]++
	}
	return seen
}

// context for commands that must not hang a test.
func cmdCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
