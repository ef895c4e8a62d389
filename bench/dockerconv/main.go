// Command dockerconv measures how fast berth's Docker provider routes
// containers (`make bench-docker`):
//
//   - start → routed: from the engine's "start" event of a labelled
//     container to the first answer through berth that is not 404 (berth
//     routes it; the app may not listen yet: 502) and to the first 200
//     (the app answers too), one container at a time;
//   - 500 containers: the time from the last of N containers started to all
//     of them routed, and then start → routed again with N running. Those
//     last samples point their service at a server on the host
//     (loadbalancer.server.url): on a small VM the host's network stack
//     may no longer reach new containers at that scale, and the point is
//     berth's latency, not the bridge's.
//
// It builds berth and the end-to-end test server (an image FROM scratch),
// labels everything it creates berth.test=1 and berth.bench=<id>, and
// removes it all at the end, even on failure or Ctrl-C.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

func main() {
	n := flag.Int("n", 500, "containers in the scale test (0 skips it)")
	samples := flag.Int("samples", 30, "start → routed samples")
	flag.StringVar(&logLevel, "log", "ERROR", "berth's log level (its log goes to stderr)")
	flag.Parse()
	if err := run(*n, *samples); err != nil {
		fmt.Fprintln(os.Stderr, "dockerconv:", err)
		os.Exit(1)
	}
}

var logLevel string

type bench struct {
	id, image, web string
	// hostURL, when set, is the server new sample containers name in
	// their labels instead of their own address.
	hostURL string
	cli     *client.Client
	starts  chan events.Message
	httpc   *http.Client
}

func run(n, samples int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	bn := &bench{id: hex.EncodeToString(b), httpc: &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	bn.cli = cli
	defer bn.cleanup()

	dir, err := os.MkdirTemp("", "berth-dockerconv-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := goBuild(filepath.Join(dir, "berth"), "./cmd/berth"); err != nil {
		return err
	}
	if err := goBuild(filepath.Join(dir, "img", "backend"), "./test/docker/backend"); err != nil {
		return err
	}
	df := "FROM scratch\nCOPY backend /backend\nEXPOSE 80\nENTRYPOINT [\"/backend\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "img", "Dockerfile"), []byte(df), 0o644); err != nil {
		return err
	}
	bn.image = "berth-bench-backend:" + bn.id
	if out, err := exec.Command("docker", "build", "-q", "--label", "berth.test=1", "--label", "berth.bench="+bn.id, "-t", bn.image, filepath.Join(dir, "img")).CombinedOutput(); err != nil {
		return fmt.Errorf("docker build: %v\n%s", err, out)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	bn.web = ln.Addr().String()
	ln.Close()
	berth := exec.CommandContext(ctx, filepath.Join(dir, "berth"),
		"--entryPoints.web.address="+bn.web, "--providers.docker=true", "--log.level="+logLevel,
		"--providers.docker.constraints=Label(`berth.bench`, `"+bn.id+"`)")
	berth.Stderr = os.Stderr
	if err := berth.Start(); err != nil {
		return err
	}
	defer func() { _ = berth.Process.Kill(); _ = berth.Wait() }()

	f := filters.NewArgs(filters.Arg("type", "container"), filters.Arg("event", "start"), filters.Arg("label", "berth.bench="+bn.id))
	msgs, errs := cli.Events(ctx, events.ListOptions{Filters: f})
	bn.starts = make(chan events.Message, 4096)
	go func() {
		for {
			select {
			case m := <-msgs:
				bn.starts <- m
			case <-errs:
				return
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)

	fmt.Printf("berth Docker provider convergence (engine %s, %d CPUs)\n", serverVersion(ctx, cli), numCPU())
	routed, ok, err := bn.startToRouted(ctx, "idle", samples)
	if err != nil {
		return err
	}
	report("start → routed (first non-404), few containers", routed)
	report("start → first 200, few containers", ok)
	if n <= 0 {
		return nil
	}

	// N containers: create them all, then start them together.
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("bench-%s-%03d", bn.id, i)
	}
	t0 := time.Now()
	if err := parallel(16, names, func(name string) error { return bn.create(ctx, name) }); err != nil {
		return err
	}
	fmt.Printf("created %d containers in %s\n", n, time.Since(t0).Round(time.Millisecond))
	for len(bn.starts) > 0 {
		<-bn.starts
	}
	t0 = time.Now()
	if err := parallel(16, names, func(name string) error { return cli.ContainerStart(ctx, name, container.StartOptions{}) }); err != nil {
		return err
	}
	var lastStart time.Time
	for range n {
		select {
		case m := <-bn.starts:
			if ts := time.Unix(0, m.TimeNano); ts.After(lastStart) {
				lastStart = ts
			}
		case <-time.After(60 * time.Second):
			return fmt.Errorf("start events missing")
		}
	}
	pending := map[string]bool{}
	for _, name := range names {
		pending[name] = true
	}
	var allRouted time.Time
	deadline := time.Now().Add(2 * time.Minute)
	for len(pending) > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d containers not routed after 2 minutes", len(pending))
		}
		for name := range pending {
			if bn.routed(name) {
				delete(pending, name)
			}
		}
		allRouted = time.Now()
	}
	fmt.Printf("%d containers: started in %s; all routed %s after the last start (%s after the first start call)\n",
		n, lastStart.Sub(t0).Round(time.Millisecond), allRouted.Sub(lastStart).Round(time.Millisecond), allRouted.Sub(t0).Round(time.Millisecond))
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() {
		_ = http.Serve(hl, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }))
	}()
	bn.hostURL = "http://" + hl.Addr().String()
	routed, ok, err = bn.startToRouted(ctx, "busy", min(samples, 20))
	if err != nil {
		return err
	}
	report(fmt.Sprintf("start → routed (first non-404) with %d containers running", n), routed)
	report(fmt.Sprintf("start → first 200 with %d containers running", n), ok)
	return nil
}

// startToRouted starts containers one at a time and measures, for each,
// the engine's start event time to the first 200 through berth.
func (bn *bench) startToRouted(ctx context.Context, tag string, samples int) (routed, ok []time.Duration, err error) {
	for i := range samples {
		name := fmt.Sprintf("bench-%s-%s-%02d", bn.id, tag, i)
		if err := bn.create(ctx, name); err != nil {
			return nil, nil, err
		}
		if err := bn.cli.ContainerStart(ctx, name, container.StartOptions{}); err != nil {
			return nil, nil, err
		}
		var started time.Time
		select {
		case m := <-bn.starts:
			started = time.Unix(0, m.TimeNano)
		case <-time.After(30 * time.Second):
			return nil, nil, fmt.Errorf("no start event for %s", name)
		}
		deadline := time.Now().Add(10 * time.Second)
		seenRoute := false
		code := 0
		for {
			code = bn.status(name)
			if code != 404 && code != 0 && !seenRoute {
				seenRoute = true
				routed = append(routed, time.Since(started))
			}
			if code == 200 {
				ok = append(ok, time.Since(started))
				break
			}
			if time.Now().After(deadline) {
				return nil, nil, fmt.Errorf("%s not routed after 10 s (berth answers %d)", name, code)
			}
			time.Sleep(500 * time.Microsecond)
		}
	}
	return routed, ok, nil
}

func (bn *bench) create(ctx context.Context, name string) error {
	labels := map[string]string{
		"berth.test": "1", "berth.bench": bn.id,
		"traefik.http.routers." + name + ".rule": "Host(`" + name + ".bench`)",
	}
	if bn.hostURL != "" {
		labels["traefik.http.services."+name+".loadbalancer.server.url"] = bn.hostURL
	}
	_, err := bn.cli.ContainerCreate(ctx, &container.Config{Image: bn.image, Labels: labels}, nil, nil, nil, name)
	return err
}

func (bn *bench) routed(name string) bool { return bn.status(name) == 200 }

// status is berth's answer for the container's host, 0 on error.
func (bn *bench) status(name string) int {
	req, _ := http.NewRequest("GET", "http://"+bn.web+"/", nil)
	req.Host = name + ".bench"
	resp, err := bn.httpc.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// cleanup removes every container and image of this run, by label.
func (bn *bench) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	list, err := bn.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "berth.bench="+bn.id))})
	if err == nil {
		ids := make([]string, len(list))
		for i, c := range list {
			ids[i] = c.ID
		}
		_ = parallel(16, ids, func(id string) error {
			return bn.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
		})
	}
	if bn.image != "" {
		_ = exec.Command("docker", "rmi", "-f", bn.image).Run()
	}
}

func report(what string, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("%s: n=%d p50=%s p95=%s max=%s\n", what, len(lat), pct(0.5).Round(100*time.Microsecond),
		pct(0.95).Round(100*time.Microsecond), lat[len(lat)-1].Round(100*time.Microsecond))
}

func parallel(workers int, items []string, f func(string) error) error {
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	ch := make(chan string)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				if err := f(it); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	wg.Wait()
	return first
}

func goBuild(out, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

func serverVersion(ctx context.Context, cli *client.Client) string {
	v, err := cli.ServerVersion(ctx)
	if err != nil {
		return "?"
	}
	return v.Version
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return max(1, strings.Count(string(b), "processor\t:"))
}
