package docker

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	"go.uber.org/zap"

	"github.com/berthproxy/berth/pkg/config"
)

// fakeEngine is an engine whose containers and event stream the test
// controls.
type fakeEngine struct {
	mu         sync.Mutex
	containers map[string]container.InspectResponse
	streams    chan chan events.Message // one per subscription, read by the test
	errs       chan error
	down       bool
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{containers: map[string]container.InspectResponse{}, streams: make(chan chan events.Message, 4)}
}

func (f *fakeEngine) set(id, name, ip string, labels map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.containers[id] = container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{ID: id, Name: "/" + name, State: &container.State{Running: true}, HostConfig: &container.HostConfig{NetworkMode: "bridge"}},
		Config:            &container.Config{Labels: labels, ExposedPorts: nat.PortSet{"80/tcp": {}}},
		NetworkSettings:   &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{"bridge": {IPAddress: ip}}},
	}
}

func (f *fakeEngine) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.containers, id)
}

var errDown = errors.New("engine down")

func (f *fakeEngine) Ping(context.Context) (types.Ping, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return types.Ping{}, errDown
	}
	return types.Ping{}, nil
}

func (f *fakeEngine) ContainerList(context.Context, container.ListOptions) ([]container.Summary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errDown
	}
	var out []container.Summary
	for id := range f.containers {
		out = append(out, container.Summary{ID: id})
	}
	return out, nil
}

func (f *fakeEngine) ContainerInspect(_ context.Context, id string) (container.InspectResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return c, notFound{}
	}
	return c, nil
}

type notFound struct{}

func (notFound) Error() string  { return "no such container" }
func (notFound) NotFound() bool { return true }

func (f *fakeEngine) Events(ctx context.Context, _ events.ListOptions) (<-chan events.Message, <-chan error) {
	msgs, errs := make(chan events.Message), make(chan error, 1)
	f.mu.Lock()
	f.errs = errs
	f.mu.Unlock()
	f.streams <- msgs
	return msgs, errs
}

func (f *fakeEngine) Close() error { return nil }

// servers returns the server URLs of every service in a snapshot.
func servers(s config.Snapshot) map[string][]string {
	out := map[string][]string{}
	for n, svc := range s.Config.HTTP.Services {
		out[n] = []string{}
		for _, srv := range svc.LoadBalancer.Servers {
			out[n] = append(out[n], srv.URL)
		}
	}
	return out
}

func TestProviderFollowsEvents(t *testing.T) {
	fe := newFakeEngine()
	fe.set("a", "web-1", "10.0.0.2", map[string]string{labelComposeService: "web", labelComposeProject: "shop"})
	fe.set("b", "web-2", "10.0.0.3", map[string]string{labelComposeService: "web", labelComposeProject: "shop"})
	opts := config.DockerProvider{}
	opts.SetDefaults()
	p := New(opts, zap.NewNop())
	p.newEngine = func() (engine, error) { return fe, nil }
	p.minBackoff, p.maxBackoff = time.Millisecond, 5*time.Millisecond
	out := make(chan config.Snapshot)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, out) }()
	defer func() { cancel(); <-done }()

	next := func(desc string) map[string][]string {
		t.Helper()
		select {
		case s := <-out:
			return servers(s)
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no snapshot", desc)
		}
		return nil
	}
	expect := func(desc string, got map[string][]string, want ...string) {
		t.Helper()
		g := got["web-shop"]
		if len(g) != len(want) {
			t.Fatalf("%s: servers %v, want %v", desc, got, want)
		}
		for i := range want {
			if g[i] != want[i] {
				t.Fatalf("%s: servers %v, want %v", desc, got, want)
			}
		}
	}
	stream := <-fe.streams
	expect("first", next("first"), "http://10.0.0.2:80", "http://10.0.0.3:80")

	stream <- events.Message{Type: events.ContainerEventType, Action: "kill", Actor: events.Actor{ID: "a", Attributes: map[string]string{"signal": "15"}}}
	expect("kill drains at once", next("kill"), "http://10.0.0.3:80")

	stream <- events.Message{Type: events.ContainerEventType, Action: "kill", Actor: events.Actor{ID: "b", Attributes: map[string]string{"signal": "1"}}}
	stream <- events.Message{Type: events.ContainerEventType, Action: "health_status: unhealthy", Actor: events.Actor{ID: "b"}}
	got := next("unhealthy")
	if _, ok := got["web-shop"]; !ok || len(got["web-shop"]) != 0 {
		t.Fatalf("unhealthy: %v, want the service with no server", got)
	}

	// The stream breaks; meanwhile a container goes away and one comes.
	fe.remove("a")
	fe.set("c", "web-3", "10.0.0.4", map[string]string{labelComposeService: "web", labelComposeProject: "shop"})
	fe.mu.Lock()
	fe.errs <- errors.New("stream broken")
	fe.mu.Unlock()
	<-fe.streams
	expect("resync", next("resync"), "http://10.0.0.3:80", "http://10.0.0.4:80")

	// An unchanged resync sends nothing.
	fe.mu.Lock()
	fe.errs <- errors.New("stream broken again")
	fe.mu.Unlock()
	stream = <-fe.streams
	select {
	case s := <-out:
		t.Fatalf("unchanged resync sent %v", servers(s))
	case <-time.After(100 * time.Millisecond):
	}

	stream <- events.Message{Type: events.ContainerEventType, Action: "die", Actor: events.Actor{ID: "c"}}
	expect("die", next("die"), "http://10.0.0.3:80")
}

func TestProviderKeepsLastSnapshotWhileDown(t *testing.T) {
	fe := newFakeEngine()
	fe.down = true
	opts := config.DockerProvider{}
	opts.SetDefaults()
	p := New(opts, zap.NewNop())
	p.newEngine = func() (engine, error) { return fe, nil }
	p.minBackoff, p.maxBackoff = time.Millisecond, 5*time.Millisecond
	out := make(chan config.Snapshot)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, out) }()
	defer func() { cancel(); <-done }()

	s := <-out
	if len(s.Issues) != 1 || s.Issues[0].Kind != "provider" {
		t.Fatalf("first snapshot while down: %v, want one provider issue", s.Issues)
	}
	// Later failures send nothing: the last snapshot stays in force.
	select {
	case s := <-out:
		t.Fatalf("sent another snapshot while down: %v", s.Issues)
	case <-time.After(50 * time.Millisecond):
	}
	fe.mu.Lock()
	fe.down = false
	fe.mu.Unlock()
	fe.set("a", "app", "10.0.0.2", map[string]string{})
	<-fe.streams
	if got := servers(<-out); len(got["app"]) != 1 {
		t.Fatalf("after the engine came back: %v", got)
	}
}

func TestReachHint(t *testing.T) {
	tests := []struct {
		desc string
		err  error
		want string
	}{
		{desc: "permission", err: errors.New("dial unix /var/run/docker.sock: connect: permission denied"), want: "group_add"},
		{desc: "missing socket", err: errors.New("dial unix /var/run/docker.sock: connect: no such file or directory"), want: "mount it"},
		{desc: "other", err: errors.New("connection refused"), want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got := reachHint(tc.err)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("reachHint(%v) = %q, want one containing %q", tc.err, got, tc.want)
			}
		})
	}
}
