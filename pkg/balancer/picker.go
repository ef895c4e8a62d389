package balancer

import (
	"fmt"
	"net/http"
	"strings"
)

// excepter is implemented by every picker of this package: Pick, avoiding
// one server (the one a retried request just failed on), and the servers
// the picker chooses from, for health reporting.
type excepter interface {
	Picker
	pickExcept(r *http.Request, skip *Server) (PickResult, error)
	serverList() []*Server
}

// PickExcept picks a server other than skip. A Picker from outside this
// package that returns skip anyway gets its pick released and ErrNoServer.
func PickExcept(p Picker, r *http.Request, skip *Server) (PickResult, error) {
	if e, ok := p.(excepter); ok {
		return e.pickExcept(r, skip)
	}
	res, err := p.Pick(r)
	if err == nil && skip != nil && res.Server == skip {
		skip.Release()
		return PickResult{}, ErrNoServer
	}
	return res, err
}

// Healthy reports whether p has at least one available server (full ones
// count: they are up, only busy). Pickers from outside this package are
// assumed healthy.
func Healthy(p Picker) bool {
	e, ok := p.(excepter)
	if !ok {
		return true
	}
	var c clock
	for _, s := range e.serverList() {
		if s.available(&c) {
			return true
		}
	}
	return false
}

// distinct returns the servers of l without repeats, in first-seen order.
func distinct(l []*Server) []*Server {
	seen := make(map[*Server]bool, len(l))
	var out []*Server
	for _, s := range l {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Config is everything New needs to build a service's picker.
type Config struct {
	// Strategy names a registered strategy; empty is Default.
	Strategy string
	Options  Options
	// Sticky, when not nil, pins clients to servers with a cookie.
	Sticky *StickyConfig
}

// New builds the picker of a service: the strategy's picker over the
// primary servers, falling back to one over the backup servers when no
// primary is available, with sticky cookies on top when configured.
func New(servers []*Server, cfg Config) (Picker, error) {
	b, ok := Lookup(cfg.Strategy)
	if !ok {
		return nil, fmt.Errorf("unknown strategy %q (known: %s)", cfg.Strategy, strings.Join(Strategies(), ", "))
	}
	if err := checkServers(servers); err != nil {
		return nil, err
	}
	var primary, backup []*Server
	for _, s := range servers {
		if s.Backup {
			backup = append(backup, s)
		} else {
			primary = append(primary, s)
		}
	}
	p, err := b.Build(primary, cfg.Options)
	if err != nil {
		return nil, err
	}
	if len(backup) > 0 {
		// The backups have their own rotation: sharing the primaries'
		// State would make a reload that adds a backup disturb the
		// primaries' rotation.
		bopts := cfg.Options
		bopts.State = nil
		if cfg.Options.State != nil {
			bopts.State = cfg.Options.State.backupState()
		}
		bp, err := b.Build(backup, bopts)
		if err != nil {
			return nil, err
		}
		p = &withBackup{primary: p, backup: bp}
	}
	if cfg.Sticky != nil {
		p = newSticky(p, servers, *cfg.Sticky)
	}
	return p, nil
}

// withBackup uses the backup servers only when no primary server is
// available. Primaries that are up but full make the request wait for a
// primary (ErrFull), not spill over to the backups: backups stand in for
// servers that are down, not for capacity.
type withBackup struct {
	primary, backup Picker
}

// Pick picks a primary, or a backup when every primary is down.
func (p *withBackup) Pick(r *http.Request) (PickResult, error) { return p.pickExcept(r, nil) }

func (p *withBackup) pickExcept(r *http.Request, skip *Server) (PickResult, error) {
	res, err := PickExcept(p.primary, r, skip)
	if err != ErrNoServer {
		return res, err
	}
	return PickExcept(p.backup, r, skip)
}

func (p *withBackup) serverList() []*Server {
	var out []*Server
	for _, q := range []Picker{p.primary, p.backup} {
		if e, ok := q.(excepter); ok {
			out = append(out, e.serverList()...)
		}
	}
	return out
}

func (noServer) pickExcept(*http.Request, *Server) (PickResult, error) {
	return PickResult{}, ErrNoServer
}

func (noServer) serverList() []*Server { return nil }

var (
	_ excepter = (*withBackup)(nil)
	_ excepter = noServer{}
)
