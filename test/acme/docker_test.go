//go:build acme

package acme

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthproxy/berth/test/testutil"
)

// TestDockerContainer: a container started with Traefik labels naming the
// resolver gets its certificate, through the Docker provider and the real
// Docker engine. Without an engine the test is skipped (test/docker is the
// suite that requires one).
func TestDockerContainer(t *testing.T) {
	t.Parallel()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		t.Skipf("the Docker engine does not answer (deploy/ensure-docker.sh starts one): %v\n%s", err, out)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)

	// The test server of test/docker, in an image FROM scratch.
	ctxDir := t.TempDir()
	if err := testutil.GoBuild(filepath.Join(ctxDir, "backend"), "./test/docker/backend"); err != nil {
		t.Fatal(err)
	}
	df := "FROM scratch\nCOPY backend /backend\nEXPOSE 80\nENTRYPOINT [\"/backend\"]\n"
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	image := "berth-acme-backend:" + id
	dockerRun(t, "build", "-q", "--label", "berth.test=1", "-t", image, ctxDir)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", image).Run() })

	e := newEnv(t, pebbleOptions{})
	be := e.startBerth(t, berthOptions{extra: []string{"--providers.docker=true", "--providers.docker.exposedByDefault=false"}})
	name := "berth-acme-" + id
	dockerRun(t, "run", "-d", "--name", name, "--label", "berth.test=1",
		"--label", "traefik.enable=true",
		"--label", "traefik.http.routers.shop.rule=Host(`shop.test`)",
		"--label", "traefik.http.routers.shop.entrypoints=websecure",
		"--label", "traefik.http.routers.shop.tls.certresolver=le",
		"--label", "traefik.http.services.shop.loadbalancer.server.port=80",
		image)
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })

	start := time.Now()
	be.waitCert(t, "shop.test", 60*time.Second)
	t.Logf("the container's certificate was served %v after it started", time.Since(start).Round(time.Millisecond))
	if got := be.get(t, "shop.test"); !strings.HasSuffix(strings.TrimSpace(got), "shop.test") {
		t.Errorf("body %q", got)
	}
}

func dockerRun(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
