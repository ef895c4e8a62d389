//go:build docker

package dockere2e

import (
	"fmt"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// TestDrainUnderLoad stops one of two replicas (`docker stop`) while a
// bounded load runs through berth: the kill event takes the replica out of
// rotation at once, requests in flight finish, and no request fails.
func TestDrainUnderLoad(t *testing.T) {
	t.Parallel()
	b := startBerth(t)
	labels := []string{"com.docker.compose.service=drain", "com.docker.compose.project=e2e" + runID,
		"traefik.http.routers.drain.rule=Host(`drain.test`)"}
	r1 := start(t, container{name: "drain-1", labels: labels, env: []string{"SHUTDOWN_DELAY=1s"}})
	start(t, container{name: "drain-2", labels: labels, env: []string{"SHUTDOWN_DELAY=1s"}})
	eventually(t, 10*time.Second, func() error {
		if seen := b.hostsSeen(t, "drain.test", 10); len(seen) != 2 {
			return errorf("replicas seen: %v", seen)
		}
		return nil
	})

	const workers, duration = 8, 4 * time.Second
	var total, failed atomic.Int64
	var mu sync.Mutex
	var firstErrs []string
	stopAt := time.Now().Add(duration)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stopAt) {
				code, body, err := b.get("drain.test", "/?delay=20ms")
				total.Add(1)
				if err != nil || code != 200 {
					failed.Add(1)
					mu.Lock()
					if len(firstErrs) < 5 {
						firstErrs = append(firstErrs, fmt.Sprintf("%d %v %q", code, err, body))
					}
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(time.Second)
	stopped := make(chan error, 1)
	go func() { stopped <- exec.Command("docker", "stop", "-t", "10", r1).Run() }()
	wg.Wait()
	if err := <-stopped; err != nil {
		t.Fatalf("docker stop: %v", err)
	}
	t.Logf("drain under load: %d requests, %d failed, while stopping one of two replicas", total.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed: %v", failed.Load(), total.Load(), firstErrs)
	}
	if seen := b.hostsSeen(t, "drain.test", 10); len(seen) != 1 {
		t.Errorf("replicas seen after the stop: %v", seen)
	}
}
