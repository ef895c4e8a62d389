package staticconf

import "github.com/berthproxy/berth/pkg/config"

// setDefaults adds the entrypoints Traefik creates when they are not
// configured, in Traefik's order: first "http" on :80 when there is no
// entrypoint at all, then the internal "traefik" entrypoint on :8080 when
// the insecure API, ping or Prometheus is served on it. Both get the usual
// entrypoint defaults (timeouts), as decoded entrypoints do.
func (l *loader) setDefaults() {
	c := l.cfg
	if len(c.EntryPoints) == 0 {
		c.EntryPoints = map[string]*config.EntryPoint{"http": newEntryPoint(":80")}
	}
	needInternal := c.API != nil && c.API.Insecure ||
		c.Ping != nil && !c.Ping.ManualRouting && c.Ping.EntryPoint == config.InternalEntryPoint ||
		c.Metrics != nil && c.Metrics.Prometheus != nil && !c.Metrics.Prometheus.ManualRouting &&
			c.Metrics.Prometheus.EntryPoint == config.InternalEntryPoint
	if needInternal {
		if _, ok := c.EntryPoints[config.InternalEntryPoint]; !ok {
			c.EntryPoints[config.InternalEntryPoint] = newEntryPoint(":8080")
		}
	}
}

func newEntryPoint(addr string) *config.EntryPoint {
	ep := &config.EntryPoint{}
	ep.SetDefaults()
	ep.Address = addr
	return ep
}
