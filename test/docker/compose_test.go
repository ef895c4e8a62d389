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

	"gopkg.in/yaml.v3"

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

// TestCheckComposeInterpolatesAsDockerCompose: `berth check --compose`
// sees labels as docker-compose will pass them to Docker ("$$" is "$",
// variables come from the environment and .env). The real docker-compose
// resolves the same file, and berth's verdict must match what it produces:
// a valid apr1 hash when escaped, a mangled one ("test:/") when not.
func TestCheckComposeInterpolatesAsDockerCompose(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc  string
		users string // as written in the compose file
		// wantResolved is the value `docker-compose config` prints; it
		// escapes "$" again as "$$".
		wantResolved string
		wantExit     int
		wantOut      []string
	}{
		{desc: "escaped hash", users: "test:$$apr1$$H6uskkkW$$IgXLP6ewTrSuBkTrqE8wj/",
			wantResolved: "test:$$apr1$$H6uskkkW$$IgXLP6ewTrSuBkTrqE8wj/", wantOut: []string{"configuration OK"}},
		{desc: "single dollars", users: "test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/",
			wantResolved: "test:/", wantExit: 1, wantOut: []string{
				`"$apr1", "$H6uskkkW", "$IgXLP6ewTrSuBkTrqE8wj": no such variable is set`,
				`basicAuth" = "test:/"`,
			}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			compose := strings.Join([]string{
				`version: "3"`,
				`services:`,
				`  web:`,
				`    image: berth-test-none`,
				`    labels:`,
				"      - traefik.http.routers.web.rule=Host(`${APP_HOST}`)",
				`      - traefik.http.routers.web.middlewares=auth`,
				`      - traefik.http.middlewares.auth.basicauth.users=` + tc.users,
				`      - traefik.http.services.web.loadbalancer.server.port=${APP_PORT:-80}`,
				``,
			}, "\n")
			for name, content := range map[string]string{"docker-compose.yml": compose, ".env": "APP_HOST=app.example.com\n"} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}

			cmd := exec.CommandContext(cmdCtx(t, time.Minute), "docker-compose", "config")
			cmd.Dir = dir
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("docker-compose config: %v", err)
			}
			var resolved struct {
				Services map[string]struct {
					Labels map[string]string `yaml:"labels"`
				} `yaml:"services"`
			}
			if err := yaml.Unmarshal(out, &resolved); err != nil {
				t.Fatalf("docker-compose config output: %v\n%s", err, out)
			}
			labels := resolved.Services["web"].Labels
			if got := labels["traefik.http.middlewares.auth.basicauth.users"]; got != tc.wantResolved {
				t.Fatalf("docker-compose resolved users to %q, want %q\n%s", got, tc.wantResolved, out)
			}
			if got := labels["traefik.http.routers.web.rule"]; got != "Host(`app.example.com`)" {
				t.Fatalf("docker-compose resolved the rule to %q", got)
			}

			got, err := exec.Command(berthBin, "check", "--compose", filepath.Join(dir, "docker-compose.yml")).CombinedOutput()
			exit := 0
			if ee, ok := err.(*exec.ExitError); ok {
				exit = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if exit != tc.wantExit {
				t.Errorf("berth check exit %d, want %d", exit, tc.wantExit)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(string(got), w) {
					t.Errorf("berth check output lacks %q", w)
				}
			}
			if t.Failed() {
				t.Logf("berth check output:\n%s", got)
			}
		})
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
