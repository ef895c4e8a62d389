// Package watch runs the configuration providers and turns their snapshots
// into one merged dynamic configuration, delivered to the server whenever it
// changes.
//
// Each provider sends full snapshots of its own configuration. The watcher
// keeps the latest snapshot of every provider, qualifies the object names as
// name@provider so that providers cannot collide, and calls apply with the
// merged result. Delivery is latest-wins: apply is never called with a
// configuration older than one already known, and snapshots that arrive
// while apply runs are folded into the next delivery rather than queued.
package watch

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/provider"
)

// DefaultDebounce is the debounce New uses when given zero.
const DefaultDebounce = 10 * time.Millisecond

// Merged is the configuration of all providers, as delivered to apply.
type Merged struct {
	// Config holds every provider's objects with names qualified as
	// name@provider (routers, services, middlewares, serversTransports and
	// TLS options). References inside objects are left as written: routing
	// resolves an unqualified reference within the referring object's
	// provider. TLS stores are not qualified, and tls.certificates are
	// concatenated. The objects are shared with the providers' snapshots
	// and must not be modified.
	Config *config.Dynamic
	// Issues are all providers' issues, with Object names qualified the
	// same way, followed by the problems found while merging.
	Issues []config.Issue
	// Generation increases with each delivery, starting at 1.
	Generation uint64
	// Providers lists, sorted, the providers that have sent at least once.
	Providers []string
	// Received is when the oldest change in this delivery reached the
	// watcher, so that the time to serve it (route convergence) includes
	// the debounce.
	Received time.Time
}

// Watcher aggregates providers. Create it with New.
type Watcher struct {
	logger   *zap.Logger
	debounce time.Duration

	// firstWait is how long the first delivery waits for every provider
	// to send; minBackoff and maxBackoff bound the delay before a failed
	// provider is restarted. They are fields so that tests can shorten
	// them.
	firstWait, minBackoff, maxBackoff time.Duration
}

// New returns a watcher that, after a change, waits debounce for more
// changes before merging (DefaultDebounce when zero or negative).
func New(logger *zap.Logger, debounce time.Duration) *Watcher {
	if logger == nil {
		logger = zap.NewNop()
	}
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	return &Watcher{
		logger:     logger.Named("watch"),
		debounce:   debounce,
		firstWait:  time.Second,
		minBackoff: time.Second,
		maxBackoff: 30 * time.Second,
	}
}

// slot is the latest snapshot of one provider.
type slot struct {
	name string
	snap config.Snapshot
	hash [sha256.Size]byte
	seen bool
}

// state is shared between the providers' goroutines, which store
// snapshots, and Run's loop, which merges them.
type state struct {
	mu    sync.Mutex
	slots []slot // in the order of Run's providers argument
	// changed holds a signal when a slot changed since the loop last
	// looked; one pending signal stands for any number of changes.
	changed chan struct{}
	// since is when the oldest change not yet delivered arrived, for
	// Merged.Received; zero when everything was delivered.
	since time.Time
}

// takeSince returns when the oldest undelivered change arrived and resets
// it; now when nothing is pending.
func (st *state) takeSince(now time.Time) time.Time {
	st.mu.Lock()
	defer st.mu.Unlock()
	t := st.since
	st.since = time.Time{}
	if t.IsZero() {
		return now
	}
	return t
}

// Run starts each provider in its own goroutine, merges their snapshots and
// calls apply with the latest merged configuration until ctx is done.
//
// apply is never called concurrently. If snapshots arrive while apply runs,
// only the latest configuration is delivered next; intermediate ones are
// skipped. The first delivery happens as soon as every provider has sent
// once, or after one second if some provider is slow. A provider that
// returns an error (or panics) is logged and restarted with backoff (1 s
// doubling to 30 s) while ctx lives; its last snapshot stays in the merge
// meanwhile.
//
// Run returns nil when ctx is done, after every provider has returned, and
// an error only when two providers have the same name.
func (w *Watcher) Run(ctx context.Context, providers []provider.Provider, apply func(Merged)) error {
	st := &state{slots: make([]slot, len(providers)), changed: make(chan struct{}, 1)}
	names := map[string]bool{}
	for i, p := range providers {
		n := p.Name()
		if names[n] {
			return fmt.Errorf("watch: two providers are named %q", n)
		}
		names[n] = true
		st.slots[i].name = n
	}

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// Cancel before waiting: deferred calls run last-in first-out.
	defer wg.Wait()
	defer cancel()
	for i, p := range providers {
		out := make(chan config.Snapshot)
		wg.Add(2)
		go func() {
			defer wg.Done()
			w.runProvider(ctx, p, out)
		}()
		go func() {
			defer wg.Done()
			w.receive(ctx, st, i, out)
		}()
	}

	w.deliver(ctx, st, apply)
	return nil
}

// runProvider runs p until ctx is done, restarting it with backoff when it
// stops early.
func (w *Watcher) runProvider(ctx context.Context, p provider.Provider, out chan<- config.Snapshot) {
	logger := w.logger.With(zap.String("provider", p.Name()))
	backoff := w.minBackoff
	for {
		start := time.Now()
		err := runSafely(ctx, p, out)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("the provider stopped without an error before shutdown")
		}
		fields := []zap.Field{zap.Error(err), zap.Duration("restartIn", backoff)}
		var pe *panicError
		if errors.As(err, &pe) {
			fields = append(fields, zap.ByteString("stack", pe.stack))
		}
		if time.Since(start) > w.maxBackoff {
			// It worked for a while: this is a new failure, not the
			// same one repeating.
			backoff = w.minBackoff
		}
		logger.Error("provider failed; restarting it; its last configuration stays in use", fields...)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
		backoff = min(2*backoff, w.maxBackoff)
	}
}

// runSafely runs p, turning a panic into an error so that one broken
// provider does not bring the proxy down.
func runSafely(ctx context.Context, p provider.Provider, out chan<- config.Snapshot) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r, stack: debug.Stack()}
		}
	}()
	return p.Run(ctx, out)
}

// panicError is a provider's panic, with the stack for the log.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("provider panicked: %v", e.value) }

// receive stores the snapshots of provider i, dropping those equal to the
// previous one, and signals the loop.
func (w *Watcher) receive(ctx context.Context, st *state, i int, in <-chan config.Snapshot) {
	for {
		var snap config.Snapshot
		select {
		case <-ctx.Done():
			return
		case snap = <-in:
		}
		h := snap.Hash()
		st.mu.Lock()
		s := &st.slots[i]
		if s.seen && s.hash == h {
			st.mu.Unlock()
			continue
		}
		s.snap, s.hash, s.seen = snap, h, true
		if st.since.IsZero() {
			st.since = time.Now()
		}
		st.mu.Unlock()
		select {
		case st.changed <- struct{}{}:
		default:
		}
	}
}

// deliver is Run's loop: it waits for changes, debounces, merges and calls
// apply, until ctx is done.
func (w *Watcher) deliver(ctx context.Context, st *state, apply func(Merged)) {
	var (
		generation uint64
		lastKey    [sha256.Size]byte
	)
	first := time.NewTimer(w.firstWait)
	defer first.Stop()

	// Wait for the first delivery: every provider, or firstWait.
waitFirst:
	for !st.allSeen() {
		select {
		case <-ctx.Done():
			return
		case <-st.changed:
		case <-first.C:
			w.logger.Warn("not every provider has sent its configuration yet; starting with the others",
				zap.Strings("waitingFor", st.unseen()))
			break waitFirst
		}
	}
	for {
		// Take the signal first: a change stored after this point
		// signals again and is delivered next time round.
		select {
		case <-st.changed:
		default:
		}
		received := st.takeSince(time.Now())
		m, key := st.merge()
		if generation == 0 || key != lastKey {
			generation++
			m.Generation = generation
			m.Received = received
			lastKey = key
			w.logger.Debug("delivering configuration", zap.Uint64("generation", generation),
				zap.Strings("providers", m.Providers), zap.Int("issues", len(m.Issues)))
			apply(m)
		}
		select {
		case <-ctx.Done():
			return
		case <-st.changed:
		}
		if !w.sleep(ctx, w.debounce) {
			return
		}
	}
}

// sleep waits d, returning false if ctx is done first.
func (w *Watcher) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (st *state) allSeen() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, s := range st.slots {
		if !s.seen {
			return false
		}
	}
	return true
}

func (st *state) unseen() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []string
	for _, s := range st.slots {
		if !s.seen {
			out = append(out, s.name)
		}
	}
	return out
}

// merge merges the latest snapshots and returns a key that identifies
// them, so that the loop can skip delivering what it delivered last.
func (st *state) merge() (Merged, [sha256.Size]byte) {
	st.mu.Lock()
	slots := make([]slot, 0, len(st.slots))
	for _, s := range st.slots {
		if s.seen {
			slots = append(slots, s)
		}
	}
	st.mu.Unlock()

	sort.Slice(slots, func(i, j int) bool { return slots[i].name < slots[j].name })
	h := sha256.New()
	snaps := make([]config.Snapshot, len(slots))
	names := make([]string, len(slots))
	for i, s := range slots {
		h.Write([]byte(s.name))
		h.Write([]byte{0})
		h.Write(s.hash[:])
		snaps[i] = s.snap
		names[i] = s.name
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])

	conf, issues := mergeSnapshots(names, snaps)
	return Merged{Config: conf, Issues: issues, Providers: names}, key
}
