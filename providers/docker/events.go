package docker

import (
	"bufio"
	"context"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"

	"github.com/berthproxy/berth/pkg/metrics"
	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"go.uber.org/zap"
)

// containerActions are the container events that can change routing.
var containerActions = []string{"start", "die", "kill", "stop", "destroy", "health_status", "pause", "unpause", "rename"}

// eventOptions subscribes to container lifecycle events and to network
// (dis)connections; the engine ANDs type with event and ORs the values, and
// network events are named connect/disconnect only.
func eventOptions() events.ListOptions {
	f := filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)), filters.Arg("type", string(events.NetworkEventType)))
	for _, a := range containerActions {
		f.Add("event", a)
	}
	f.Add("event", "connect")
	f.Add("event", "disconnect")
	return events.ListOptions{Filters: f}
}

// inspectResult is the answer to an inspect started for an event.
type inspectResult struct {
	id   string
	seq  uint64
	info *containerInfo
	err  error
}

// inspectWorkers bounds concurrent inspects when many containers start at
// once.
const inspectWorkers = 16

// watch applies events until the stream breaks or ctx is done. Each event
// costs at most one inspect of the container it names; the snapshot is
// rebuilt from the cached per-container configurations once the events
// that are already waiting have been applied, and sent at once (the
// watcher debounces).
func (s *session) watch(ctx context.Context, msgs <-chan events.Message, errs <-chan error) error {
	results := make(chan inspectResult, inspectWorkers)
	sem := make(chan struct{}, inspectWorkers)
	// seq numbers each container's events, so that an inspect answer
	// overtaken by a later event (a die) is dropped rather than bringing
	// a stopped container back.
	seq := map[string]uint64{}
	startInspect := func(id string) {
		seq[id]++
		n := seq[id]
		go func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			c, err := inspect(s.callCtx(ctx), s.cli, id)
			<-sem
			select {
			case results <- inspectResult{id, n, c, err}:
			case <-ctx.Done():
			}
		}()
	}
	dirty := false
	for {
		if dirty {
			// Apply what is already waiting before building a
			// snapshot: a burst of events costs one rebuild.
			select {
			case m, ok := <-msgs:
				if !ok {
					return errStreamClosed
				}
				dirty = s.handleEvent(m, seq, startInspect) || dirty
				continue
			case r := <-results:
				dirty = s.handleResult(r, seq) || dirty
				continue
			default:
			}
			s.send(ctx)
			dirty = false
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errs:
			if err == nil {
				err = errStreamClosed
			}
			return err
		case m, ok := <-msgs:
			if !ok {
				return errStreamClosed
			}
			dirty = s.handleEvent(m, seq, startInspect)
		case r := <-results:
			dirty = s.handleResult(r, seq)
		}
	}
}

// handleEvent applies one event; it reports whether the state changed.
func (s *session) handleEvent(m events.Message, seq map[string]uint64, startInspect func(string)) bool {
	action := string(m.Action)
	if i := strings.IndexByte(action, ':'); i > 0 {
		// health_status carries the status ("health_status: healthy");
		// the metric's label stays the bounded action name.
		metrics.DockerEvent(action[:i])
	} else {
		metrics.DockerEvent(action)
	}
	if ce := s.logger.Check(zap.DebugLevel, "event"); ce != nil {
		ce.Write(zap.String("type", string(m.Type)), zap.String("action", action), zap.String("id", m.Actor.ID))
	}
	if m.Type == events.NetworkEventType {
		if id := m.Actor.Attributes["container"]; id != "" {
			startInspect(id)
		}
		return false
	}
	id := m.Actor.ID
	c := s.containers[id]
	switch {
	case action == "kill":
		// The stop signal: take the container out of rotation now so
		// that no new request reaches it while it shuts down; requests
		// in flight finish on their connections.
		if !drainSignal(m.Actor.Attributes["signal"]) {
			return false
		}
		// An inspect still in flight (from the start) would bring the
		// container back into rotation: drop it.
		seq[id]++
		if c == nil || c.Draining {
			return false
		}
		cc := *c
		cc.Draining = true
		s.containers[id] = &cc
		s.redecode(id)
		return true
	case action == "die" || action == "stop" || action == "destroy":
		seq[id]++ // drop any inspect in flight
		if c == nil {
			return false
		}
		delete(s.containers, id)
		s.redecode(id)
		s.redecodeDependents()
		return true
	case strings.HasPrefix(action, "health_status"):
		status := strings.TrimSpace(strings.TrimPrefix(action, "health_status:"))
		if c != nil && status != "" && status != action {
			if c.Health == status {
				return false
			}
			cc := *c
			cc.Health = status
			s.containers[id] = &cc
			s.redecode(id)
			return true
		}
	}
	startInspect(id)
	return false
}

// handleResult applies an inspect answer; it reports whether the state
// changed.
func (s *session) handleResult(r inspectResult, seq map[string]uint64) bool {
	if r.seq != seq[r.id] {
		return false
	}
	switch {
	case r.err != nil && isNotFound(r.err):
		if _, ok := s.containers[r.id]; !ok {
			return false
		}
		delete(s.containers, r.id)
	case r.err != nil:
		s.logger.Warn("cannot inspect a container; keeping what is known of it", zap.String("id", r.id), zap.Error(r.err))
		return false
	case !r.info.Running:
		if _, ok := s.containers[r.id]; !ok {
			return false
		}
		delete(s.containers, r.id)
	default:
		s.containers[r.id] = r.info
	}
	s.redecode(r.id)
	s.redecodeDependents()
	if s.self != nil && r.info != nil && r.id == s.self.ID {
		// berth's own networks changed: addresses may change too.
		s.self = r.info
		s.setEnv()
		for id := range s.containers {
			s.redecode(id)
		}
	}
	return true
}

// drainSignal reports whether a kill event's signal stops the container.
// Signals that ask a process to reload or report (HUP, USR1, USR2, WINCH)
// leave it in rotation.
func drainSignal(sig string) bool {
	switch strings.ToUpper(strings.TrimPrefix(strings.ToUpper(sig), "SIG")) {
	case "1", "HUP", "10", "USR1", "12", "USR2", "28", "WINCH":
		return false
	}
	return true
}

// listRunning returns the IDs of the running (and paused) containers.
func listRunning(ctx context.Context, cli engine) ([]string, error) {
	list, err := cli.ContainerList(ctx, container.ListOptions{})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	return ids, nil
}

// containerIDInPath finds a container ID in the paths Docker mounts into
// every container (/var/lib/docker/containers/<id>/hostname, ...).
var containerIDInPath = regexp.MustCompile(`/containers/([0-9a-f]{64})/`)

// findSelf finds berth's own container, if berth runs in one, so that
// address choice can prefer a network the two share. It reads the ID from
// /proc/self/mountinfo, else tries the hostname (Docker's default is the
// short ID). Failing is fine: berth then runs on the host.
func findSelf(ctx context.Context, cli engine) *containerInfo {
	var refs []string
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if m := containerIDInPath.FindStringSubmatch(sc.Text()); m != nil {
				refs = append(refs, m[1])
				break
			}
		}
		f.Close()
	}
	if h, err := os.Hostname(); err == nil && regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(h) {
		refs = append(refs, h)
	}
	for _, ref := range refs {
		if c, err := inspect(ctx, cli, ref); err == nil {
			return c
		}
	}
	return nil
}

func isNotFound(err error) bool { return errdefs.IsNotFound(err) }

func jitter(n int64) int64 { return rand.Int64N(n) }
