//go:build docker

package dockere2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLabelsExposureAndBadLabels: a labelled container is routed; one
// without traefik.enable is not (exposedByDefault=false); one that fails
// the constraints is not; a bad label is logged with the container and the
// label while the container's other router works.
func TestLabelsExposureAndBadLabels(t *testing.T) {
	t.Parallel()
	// The case label keeps other tests' containers out of this berth, so
	// that its log holds this test's problems only.
	b := startBerth(t, "--providers.docker.exposedByDefault=false", "--metrics.prometheus=true",
		"--providers.docker.constraints=Label(`berth.test.run`, `"+runID+"`) && Label(`case`, `labels`) && !Label(`tier`, `back`)")
	hidden := start(t, container{name: "hidden", labels: []string{"case=labels", "traefik.http.routers.hidden.rule=Host(`hidden.test`)"}})
	back := start(t, container{name: "back", labels: []string{"case=labels", "traefik.enable=true", "tier=back", "traefik.http.routers.back.rule=Host(`back.test`)"}})
	good := start(t, container{name: "labels", labels: []string{
		"case=labels",
		"traefik.enable=true",
		"traefik.http.routers.labels.rule=Host(`labels.test`)",
		"traefik.http.routers.labels-bad.rule=Host(`labels-bad.test`)",
		"traefik.http.routers.labels-bad.servce=labels",
	}})
	b.waitStatus(t, "labels.test", 200, 10*time.Second)
	code, body, err := b.get("labels.test", "/")
	if err != nil || code != 200 || !strings.HasPrefix(body, docker(t, "inspect", "-f", "{{.Config.Hostname}}", good)) {
		t.Fatalf("labels.test: %d %v %q", code, err, body)
	}
	for _, h := range []string{"hidden.test", "back.test", "labels-bad.test"} {
		if code, _, _ := b.get(h, "/"); code != http.StatusNotFound {
			t.Errorf("%s answers %d, want 404", h, code)
		}
	}
	// The log is JSON-ish: quotes inside the message are escaped.
	want := `container \"` + good + `\" label \"traefik.http.routers.labels-bad.servce\"`
	eventually(t, 5*time.Second, func() error {
		if !strings.Contains(b.Log(), want) || !strings.Contains(b.Log(), `did you mean \"service\"?`) {
			return errorf("log lacks %s", want)
		}
		return nil
	})
	if n := strings.Count(b.Log(), want); n != 1 {
		t.Errorf("the bad label is logged %d times, want once", n)
	}
	// The bad label is a counted problem, and the engine's events are
	// counted by action.
	resp, err := http.Get("http://" + b.ping + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metricsText, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{`berth_docker_events_total{action="start"}`, `berth_config_problems{kind="router",provider="docker"}`} {
		if !strings.Contains(string(metricsText), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	_, _ = hidden, back
}

// TestScaleUpAndDown: two replicas of one compose service share one service
// and both get traffic; after one is removed only the other does.
func TestScaleUpAndDown(t *testing.T) {
	t.Parallel()
	b := startBerth(t)
	labels := []string{"com.docker.compose.service=scale", "com.docker.compose.project=e2e" + runID,
		"traefik.http.routers.scale.rule=Host(`scale.test`)"}
	r1 := start(t, container{name: "scale-1", labels: labels})
	b.waitStatus(t, "scale.test", 200, 10*time.Second)
	r2 := start(t, container{name: "scale-2", labels: labels})
	eventually(t, 10*time.Second, func() error {
		if seen := b.hostsSeen(t, "scale.test", 10); len(seen) != 2 {
			return errorf("replicas seen: %v", seen)
		}
		return nil
	})
	docker(t, "rm", "-f", r1)
	eventually(t, 10*time.Second, func() error {
		if seen := b.hostsSeen(t, "scale.test", 10); len(seen) != 1 {
			return errorf("replicas seen: %v", seen)
		}
		return nil
	})
	_ = r2
}

// TestNetworkChoice: a container on two networks is reached on the one its
// traefik.docker.network label names.
func TestNetworkChoice(t *testing.T) {
	t.Parallel()
	n1, n2 := network(t, "netone"), network(t, "nettwo")
	b := startBerth(t)
	c := start(t, container{name: "twonets", args: []string{"--network", n1}, labels: []string{
		"traefik.http.routers.twonets.rule=Host(`twonets.test`)",
		"traefik.http.services.twonets.loadbalancer.passhostheader=false",
		"traefik.docker.network=" + n2,
	}})
	docker(t, "network", "connect", n2, c)
	want := ip(t, c, n2) + ":80"
	eventually(t, 10*time.Second, func() error {
		code, body, err := b.get("twonets.test", "/")
		if err != nil || code != 200 {
			return errorf("%d %v", code, err)
		}
		if f := strings.Fields(body); len(f) < 2 || f[1] != want {
			return errorf("reached as %q, want %s", body, want)
		}
		return nil
	})
}

// TestHealth: a container whose health check is starting or unhealthy gets
// no traffic but its router stays (503, not 404); healthy gets 200.
func TestHealth(t *testing.T) {
	t.Parallel()
	b := startBerth(t)
	c := start(t, container{name: "health", image: imageHC, env: []string{"START_UNHEALTHY=1"},
		labels: []string{"traefik.http.routers.health.rule=Host(`health.test`)"}})
	b.waitStatus(t, "health.test", http.StatusServiceUnavailable, 10*time.Second)
	if s := docker(t, "inspect", "-f", "{{.State.Health.Status}}", c); s != "starting" {
		t.Fatalf("health %q, want starting", s)
	}
	addr := "http://" + ip(t, c, "") + "/health/"
	mustGet(t, addr+"ok")
	b.waitStatus(t, "health.test", 200, 10*time.Second)
	mustGet(t, addr+"fail")
	b.waitStatus(t, "health.test", http.StatusServiceUnavailable, 10*time.Second)
	if s := docker(t, "inspect", "-f", "{{.State.Health.Status}}", c); s != "unhealthy" {
		t.Errorf("health %q, want unhealthy", s)
	}
	mustGet(t, addr+"ok")
	b.waitStatus(t, "health.test", 200, 10*time.Second)
}

// mustGet sends one GET straight to a container (to flip its health). A
// container's bridge address can be unreachable for a moment after it
// starts ("no route to host" while the kernel's neighbour entry for an
// address that a container of a parallel test just gave up is stale), so
// connection errors are retried for a while; that is the bridge, not berth.
func mustGet(t testing.TB, url string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	eventually(t, 15*time.Second, func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	})
}
