package config

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Hash identifies a snapshot's content, so that providers and the watcher
// can drop a snapshot equal to the previous one. It covers the objects'
// Source fields, which JSON leaves out, so that a definition that only
// moved to another line still goes out and the API shows where it is now.
func (s Snapshot) Hash() [sha256.Size]byte {
	b, err := json.Marshal(struct {
		Config  *Dynamic
		Issues  []Issue
		Sources []string
	}{s.Config, s.Issues, s.Config.sources()})
	if err != nil {
		// A value JSON cannot encode (a middleware spec holding a func,
		// say) makes every snapshot look new: a needless rebuild, but
		// never a lost change.
		return sha256.Sum256([]byte(time.Now().String() + err.Error()))
	}
	return sha256.Sum256(b)
}

// sources lists "kind name source" for every object, in a stable order.
func (d *Dynamic) sources() []string {
	if d == nil {
		return nil
	}
	var out []string
	add := func(kind, name, src string) { out = append(out, kind+"\x00"+name+"\x00"+src) }
	if h := d.HTTP; h != nil {
		for n, o := range h.Routers {
			if o != nil {
				add("router", n, o.Source)
			}
		}
		for n, o := range h.Services {
			if o != nil {
				add("service", n, o.Source)
			}
		}
		for n, o := range h.Middlewares {
			if o != nil {
				add("middleware", n, o.Source)
			}
		}
		for n, o := range h.ServersTransports {
			if o != nil {
				add("serversTransport", n, o.Source)
			}
		}
	}
	if t := d.TLS; t != nil {
		for n, o := range t.Options {
			if o != nil {
				add("tls", n, o.Source)
			}
		}
		for i, c := range t.Certificates {
			if c != nil {
				add("certificate", fmt.Sprint(i), c.Source)
			}
		}
	}
	sort.Strings(out)
	return out
}
