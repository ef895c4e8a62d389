// Package docker is the Docker provider: every labelled container becomes
// routers, services and middlewares, without a restart.
//
// It reads Traefik's labels (`traefik.http.routers.web.rule=...`) and the
// same keys under a `berth.` prefix, decodes them with the decoder files use
// (so that problems read the same, naming the container and the label), and
// follows the engine's event stream: each event makes the provider inspect
// only the container it names, and the full snapshot is rebuilt from the
// per-container configurations it keeps. It needs read-only API endpoints
// only, so it works behind a read-only socket proxy.
//
// Containers whose health check is starting or unhealthy, paused ones, and
// ones that were just sent their stop signal keep their services defined
// with no server: routers answer 503, never 404, while a site restarts.
package docker

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/berthproxy/berth/pkg/config"
)

// ProviderName is the provider's namespace: objects from labels are known as
// name@docker.
const ProviderName = "docker"

// Provider reads dynamic configuration from container labels.
type Provider struct {
	opts   config.DockerProvider
	logger *zap.Logger

	// newEngine connects to the engine; tests replace it.
	newEngine func() (engine, error)
	// minBackoff and maxBackoff bound the wait between reconnections;
	// tests shorten them.
	minBackoff, maxBackoff time.Duration
}

// New returns a Docker provider for the given static options.
func New(opts config.DockerProvider, logger *zap.Logger) *Provider {
	if logger == nil {
		logger = zap.NewNop()
	}
	p := &Provider{opts: opts, logger: logger.Named(ProviderName), minBackoff: 100 * time.Millisecond, maxBackoff: 10 * time.Second}
	p.newEngine = func() (engine, error) {
		eo := endpointOptions{Endpoint: opts.Endpoint, Username: opts.Username, Password: opts.Password}
		if t := opts.TLS; t != nil {
			eo.TLS = &tlsOptions{CA: t.CA, Cert: t.Cert, Key: t.Key, InsecureSkipVerify: t.InsecureSkipVerify}
		}
		return newEngine(eo)
	}
	return p
}

// Name returns "docker".
func (p *Provider) Name() string { return ProviderName }

// parseOptions checks the options that can be wrong before any container
// is seen: the default rule and the constraints.
func parseOptions(o config.DockerProvider) (*options, error) {
	rule := o.DefaultRule
	if rule == "" {
		rule = "Host(`{{ normalize .Name }}`)"
	}
	tmpl, err := parseRuleTemplate(rule)
	if err != nil {
		return nil, fmt.Errorf("docker provider: %w", err)
	}
	cons, err := parseConstraints(o.Constraints)
	if err != nil {
		return nil, fmt.Errorf("docker provider: %w", err)
	}
	return &options{
		exposedByDefault: o.ExposedByDefault,
		defaultRule:      tmpl,
		constraints:      cons,
		env:              env{network: o.Network, useBindPortIP: o.UseBindPortIP},
	}, nil
}

// Run follows the engine and sends a snapshot whenever the labelled
// containers change, until ctx is done. When the engine cannot be reached
// or the event stream breaks, it reconnects with jittered backoff (up to
// about 10 s) and resynchronises from a full listing; the last good
// snapshot stays in force meanwhile. It returns an error only when the
// options are invalid.
func (p *Provider) Run(ctx context.Context, out chan<- config.Snapshot) error {
	o, err := parseOptions(p.opts)
	if err != nil {
		return err
	}
	cli, err := p.newEngine()
	if err != nil {
		return err
	}
	defer cli.Close()
	s := &session{
		p: p, o: o, cli: cli, out: out, logger: p.logger,
		containers: map[string]*containerInfo{},
		decoded:    map[string]*decoded{},
	}
	return s.run(ctx)
}

// session is the state of one Run: the containers the provider knows and
// their decoded configurations. It is owned by Run's goroutine.
type session struct {
	p      *Provider
	o      *options
	cli    engine
	out    chan<- config.Snapshot
	logger *zap.Logger

	containers map[string]*containerInfo // by ID; running containers only
	decoded    map[string]*decoded       // by ID
	self       *containerInfo            // berth's own container, if any

	sentGood bool
	sentAny  bool
	syncs    int // successful synchronisations
	lastKey  [sha256.Size]byte
}

// run connects, synchronises and follows events, reconnecting on failure.
func (s *session) run(ctx context.Context) error {
	b := backoff{min: s.p.minBackoff, max: s.p.maxBackoff}
	outage := false
	for {
		synced, err := s.follow(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if synced {
			b.reset()
		}
		if !outage || synced {
			s.logger.Warn("lost the Docker engine; the last configuration stays in force while reconnecting", zap.Error(err))
		}
		outage = true
		if !s.sentAny {
			// berth must hear from every provider once; say why there
			// is nothing yet.
			s.sendSnapshot(ctx, config.Snapshot{Provider: ProviderName, Config: &config.Dynamic{}, Issues: []config.Issue{{
				Provider: ProviderName, Kind: "provider", Fatal: true,
				Msg: fmt.Sprintf("cannot reach the Docker engine at %q: %v; retrying%s", s.p.opts.Endpoint, err, reachHint(err)),
			}}})
		}
		if !sleepCtx(ctx, b.next()) {
			return nil
		}
	}
}

// follow subscribes to events, lists and inspects every running container,
// sends the snapshot and then applies events until the stream breaks. It
// reports whether the synchronisation worked, and why it stopped.
func (s *session) follow(ctx context.Context) (synced bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, err := s.cli.Ping(s.callCtx(ctx)); err != nil {
		return false, err
	}
	// Subscribe before listing: an event that happens during the listing
	// is then applied after it instead of being lost.
	msgs, errs := s.cli.Events(ctx, eventOptions())
	if err := s.resync(ctx); err != nil {
		return false, err
	}
	if s.syncs++; s.syncs > 1 {
		s.logger.Info("reconnected to the Docker engine", zap.Int("containers", len(s.containers)))
	}
	if !s.p.opts.Watch {
		<-ctx.Done()
		return true, ctx.Err()
	}
	return true, s.watch(ctx, msgs, errs)
}

// resync replaces the whole state with a fresh listing and sends it.
func (s *session) resync(ctx context.Context) error {
	list, err := listRunning(s.callCtx(ctx), s.cli)
	if err != nil {
		return err
	}
	s.self = findSelf(s.callCtx(ctx), s.cli)
	infos, err := inspectAll(ctx, s, list)
	if err != nil {
		return err
	}
	s.containers = map[string]*containerInfo{}
	for _, c := range infos {
		if c.Running {
			s.containers[c.ID] = c
		}
	}
	s.setEnv()
	s.decoded = map[string]*decoded{}
	for id := range s.containers {
		s.redecode(id)
	}
	s.send(ctx)
	return nil
}

// setEnv refreshes what address choice knows about berth itself.
func (s *session) setEnv() {
	s.o.env.selfNetworks = nil
	if s.self != nil {
		s.o.env.selfNetworks = map[string]bool{}
		for name, n := range s.self.Networks {
			s.o.env.selfNetworks[name] = true
			if n.ID != "" {
				s.o.env.selfNetworks[n.ID] = true
			}
		}
	}
	s.o.env.lookup = s.lookup
}

// lookup finds a known container by ID, ID prefix or name.
func (s *session) lookup(ref string) *containerInfo {
	if c, ok := s.containers[ref]; ok {
		return c
	}
	for id, c := range s.containers {
		if c.Name == ref || len(ref) >= 12 && strings.HasPrefix(id, ref) {
			return c
		}
	}
	return nil
}

// redecode recomputes one container's configuration from its labels.
func (s *session) redecode(id string) {
	c, ok := s.containers[id]
	if !ok {
		delete(s.decoded, id)
		return
	}
	s.decoded[id] = decodeContainer(c, s.o)
}

// redecodeDependents recomputes the containers that share another
// container's network stack, whose address depends on it.
func (s *session) redecodeDependents() {
	for id, c := range s.containers {
		if strings.HasPrefix(c.NetworkMode, "container:") {
			s.redecode(id)
		}
	}
}

// send builds the snapshot from the decoded containers and sends it unless
// it equals the last one sent.
func (s *session) send(ctx context.Context) {
	ds := make([]*decoded, 0, len(s.decoded))
	for _, d := range s.decoded {
		ds = append(ds, d)
	}
	cfg, issues := mergeContainers(ds)
	snap := config.Snapshot{Provider: ProviderName, Config: cfg, Issues: issues}
	key := snap.Hash()
	if s.sentGood && key == s.lastKey {
		return
	}
	if s.sendSnapshot(ctx, snap) {
		s.sentGood, s.lastKey = true, key
	}
}

func (s *session) sendSnapshot(ctx context.Context, snap config.Snapshot) bool {
	select {
	case s.out <- snap:
		s.sentAny = true
		return true
	case <-ctx.Done():
		return false
	}
}

// callCtx bounds one non-streaming API call by httpClientTimeout, if set.
func (s *session) callCtx(ctx context.Context) context.Context {
	if d := s.p.opts.HTTPClientTimeout.D(); d > 0 {
		c, cancel := context.WithTimeout(ctx, d)
		context.AfterFunc(c, cancel)
		return c
	}
	return ctx
}

// inspectAll inspects the listed containers with bounded parallelism, so
// that a resync of hundreds of containers takes a fraction of a second.
func inspectAll(ctx context.Context, s *session, ids []string) ([]*containerInfo, error) {
	const workers = 16
	var (
		mu       sync.Mutex
		out      []*containerInfo
		firstErr error
		wg       sync.WaitGroup
	)
	jobs := make(chan string)
	for range min(workers, len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range jobs {
				c, err := inspect(s.callCtx(ctx), s.cli, id)
				mu.Lock()
				switch {
				case err == nil:
					out = append(out, c)
				case isNotFound(err):
					// Removed since the listing: nothing to route.
				case firstErr == nil:
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, id := range ids {
		jobs <- id
	}
	close(jobs)
	wg.Wait()
	return out, firstErr
}

// backoff is a jittered exponential backoff.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) reset() { b.cur = 0 }

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	// Half to full of the step, so that many berths do not reconnect in
	// step after an engine restart.
	return b.cur/2 + time.Duration(jitter(int64(b.cur/2)+1))
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

var errStreamClosed = errors.New("the Docker event stream closed")

// reachHint says what usually fixes a failure to reach the engine.
func reachHint(err error) string {
	switch {
	case errors.Is(err, fs.ErrPermission) || strings.Contains(err.Error(), "permission denied"):
		return " (berth's user cannot read the socket: give its container the socket's group, e.g. `group_add: [\"$(stat -c %g /var/run/docker.sock)\"]`, or run it as root; see docs/docker.md)"
	case errors.Is(err, fs.ErrNotExist) || strings.Contains(err.Error(), "no such file"):
		return " (the socket does not exist: mount it with `-v /var/run/docker.sock:/var/run/docker.sock:ro` or set providers.docker.endpoint)"
	}
	return ""
}
