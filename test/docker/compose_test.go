//go:build docker

package dockere2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthproxy/berth/test/testutil"
)

// TestComposeStack brings up the repository's docker-compose.yml (berth
// in its own image, built from the Dockerfile, in front of labelled
// services) and sends requests through it.
func TestComposeStack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, f := range []string{"Dockerfile", "Dockerfile.whoami", "docker-compose.yml", ".dockerignore"} {
		data, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []struct{ out, pkg string }{{"bin/berth", "./cmd/berth"}, {"bin/whoami", "./cmd/whoami"}} {
		if err := testutil.GoBuild(filepath.Join(dir, b.out), b.pkg); err != nil {
			t.Fatal(err)
		}
	}
	project := "berth-e2e-" + runID
	web, api := testutil.FreeAddr(t), testutil.FreeAddr(t)
	gid := strings.TrimSpace(mustOutput(t, "stat", "-c", "%g", "/var/run/docker.sock"))
	compose := func(args ...string) (string, error) {
		cmd := exec.CommandContext(cmdCtx(t, 5*time.Minute), "docker-compose", append([]string{"-p", project}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "DOCKER_GID="+gid, "BERTH_WEB_PORT="+port(web), "BERTH_API_PORT="+port(api))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := compose("logs", "--tail=40", "berth")
			t.Logf("berth container log:\n%s", out)
		}
		if out, err := compose("down", "-v", "--rmi", "local"); err != nil {
			t.Logf("docker-compose down: %v\n%s", err, out)
		}
	})
	if out, err := compose("up", "-d", "--build"); err != nil {
		t.Fatalf("docker-compose up: %v\n%s", err, out)
	}
	b := &berth{web: web}
	eventually(t, 30*time.Second, func() error {
		seen := map[string]bool{}
		for range 10 {
			code, body, err := b.get("whoami.localhost", "/")
			if err != nil || code != 200 {
				return fmt.Errorf("whoami.localhost: %d %v", code, err)
			}
			seen[strings.Fields(body)[1]] = true
		}
		if len(seen) != 2 {
			return fmt.Errorf("replicas seen: %v", seen)
		}
		return nil
	})
	code, body, err := b.get("api.localhost", "/api/hello")
	if err != nil || code != 200 || !strings.Contains(body, "GET /hello ") {
		t.Fatalf("api.localhost/api/hello: %d %v %q", code, err, body)
	}
	// The image's HEALTHCHECK runs `berth healthcheck --ping=true`, which
	// must find the compose command's ping.
	eventually(t, 30*time.Second, func() error {
		id, _ := compose("ps", "-q", "berth")
		s := strings.TrimSpace(mustOutput(t, "docker", "inspect", "-f", "{{.State.Health.Status}}", strings.TrimSpace(id)))
		if s != "healthy" {
			return fmt.Errorf("berth container health %q", s)
		}
		return nil
	})

	// berth check lints the same file's labels.
	out, err := exec.Command(berthBin, "check", "--compose", filepath.Join(dir, "docker-compose.yml")).CombinedOutput()
	if err != nil {
		t.Errorf("berth check --compose docker-compose.yml: %v\n%s", err, out)
	}
}

// TestCheckCompose: `berth check --compose` reports bad labels with the
// container and the label, and exits 1.
func TestCheckCompose(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "docker-compose.yml")
	if err := os.WriteFile(file, []byte("services:\n  web:\n    image: x\n    labels:\n      - traefik.http.services.web.server.port=80\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(berthBin, "check", "--compose", file).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1\n%s", err, out)
	}
	if want := `label "traefik.http.services.web.server.port"`; !strings.Contains(string(out), want) || !strings.Contains(string(out), `did you mean "loadbalancer.server.port"?`) {
		t.Errorf("output lacks %s:\n%s", want, out)
	}
}

func mustOutput(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out)
}

func port(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }
