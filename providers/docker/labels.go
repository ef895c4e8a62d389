package docker

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/decode"
	"github.com/berthproxy/berth/pkg/dynamic"
)

// Label prefixes: berth reads Traefik's labels unchanged and its own
// `berth.` spelling of them; on one container a `berth.` label wins.
const (
	prefixTraefik = "traefik."
	prefixBerth   = "berth."
)

// options are the provider options the label decoder needs, parsed once.
type options struct {
	exposedByDefault bool
	defaultRule      *ruleTemplate
	constraints      constraint
	env              env
	// lint decodes every container, exposed or not, and does not look
	// for addresses: `berth check --compose` has no running containers.
	lint bool
}

// decoded is one container's configuration, computed when the container
// changes and reused for every snapshot until then.
type decoded struct {
	name, id string
	// exposed is false for containers that are not enabled or do not
	// match the constraints; they contribute nothing.
	exposed bool
	cfg     *config.Dynamic
	issues  []config.Issue
	// keys hold, per object ("router/web"), the JSON that replicas must
	// agree on (a service without its servers), computed once here.
	keys map[string]string
}

// labelService is a service as labels write it: Traefik's load balancer
// plus the `server` shorthand for this container's one server.
type labelService struct {
	LoadBalancer *labelLoadBalancer `json:"loadbalancer"`
	// Composite services send requests to other services, not to this
	// container; Traefik cannot set them from labels (its issue #5673).
	Weighted  *config.WeightedService  `json:"weighted"`
	Mirroring *config.MirroringService `json:"mirroring"`
	Failover  *config.FailoverService  `json:"failover"`
	Source    string                   `json:"-" decode:"source"`
}

// composite reports whether the labels make a composite service.
func (ls *labelService) composite() bool {
	return ls.Weighted != nil || ls.Mirroring != nil || ls.Failover != nil
}

// labelLoadBalancer is config.LoadBalancer with the `server` shorthand;
// Server comes first so that a suggestion for "server" finds it before
// "servers".
type labelLoadBalancer struct {
	Server *labelServer `json:"server"`
	config.LoadBalancer
}

// labelServer is the Docker-only shorthand for the container's server:
// url = scheme://address:port unless url is given.
type labelServer struct {
	Port         int             `json:"port"`
	Scheme       string          `json:"scheme"`
	URL          string          `json:"url"`
	Weight       *int            `json:"weight"`
	PreservePath bool            `json:"preservePath"`
	MaxConns     int             `json:"maxConns"`
	Backup       bool            `json:"backup"`
	SlowStart    config.Duration `json:"slowStart"`
}

// label is one of the container's berth or Traefik labels.
type label struct {
	full  string // as written: "traefik.http.routers.web.rule"
	key   string // without the prefix: "http.routers.web.rule"
	value string
	pos   string
}

// labelPos is how a label is named in messages.
func labelPos(container, full string) string {
	return fmt.Sprintf("container %q label %q", container, full)
}

// containerPos names a container in messages about what it has no label for.
func containerPos(container string) string { return fmt.Sprintf("container %q", container) }

// topKeys are the keys right under the prefix that berth reads; other
// keys are left alone, unless they look like a typo of one of these.
var topKeys = []string{"http", "tls", "tcp", "udp", "enable", "docker"}

// dockerKeys are the label keys under `traefik.docker.`.
var dockerKeys = []string{"network", "lbswarm"}

// decodeContainer turns a container's labels into its part of the
// provider's configuration, with every problem reported against the label
// that caused it. Objects that cannot be decoded are left out; the rest of
// the container's configuration is kept.
func decodeContainer(c *containerInfo, o *options) *decoded {
	d := &decoded{name: c.Name, id: c.ID, keys: map[string]string{}}
	issue := func(src, kind, object, key, value, msg string, fatal bool) {
		d.issues = append(d.issues, config.Issue{Source: src, Provider: ProviderName, Kind: kind, Object: object,
			Key: key, Value: value, Msg: msg, Fatal: fatal})
	}

	labels := collectLabels(c, issue)
	byPos := map[string]string{}
	for _, l := range labels {
		byPos[l.pos] = l.value
	}

	// The provider's own keys: enable and docker.*.
	enabled, networkLabel := o.exposedByDefault, ""
	var entries []decode.Entry
	for _, l := range labels {
		lk := strings.ToLower(l.key)
		switch {
		case lk == "enable":
			b, err := strconv.ParseBool(strings.TrimSpace(l.value))
			if err != nil {
				issue(l.pos, "label", "", l.key, l.value, "want true or false", true)
				continue
			}
			enabled = b
		case lk == "docker.network":
			networkLabel = strings.TrimSpace(l.value)
		case lk == "docker.lbswarm":
			issue(l.pos, "label", "", l.key, l.value, "berth does not support Swarm services; the label is ignored", false)
		case strings.HasPrefix(lk, "docker."):
			msg := fmt.Sprintf("unknown key %q", l.key)
			if s := decode.Suggest(strings.TrimPrefix(lk, "docker."), dockerKeys); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", "docker."+s)
			} else {
				msg += " (valid keys here: docker.network)"
			}
			issue(l.pos, "label", "", l.key, l.value, msg, true)
		default:
			top, _, _ := strings.Cut(lk, ".")
			if !slices.Contains(topKeys, top) {
				// Keys far from berth's own belong to something else
				// (berth.test=1 marks test containers); near ones are
				// typos.
				if s := decode.Suggest(top, topKeys); s != "" {
					issue(l.pos, "label", "", l.key, l.value, fmt.Sprintf("unknown key %q; did you mean %q?", top, s), true)
				}
				continue
			}
			if _, err := decode.SplitKey(l.key); err != nil {
				issue(l.pos, "label", "", l.key, l.value, err.Error(), true)
				continue
			}
			entries = append(entries, decode.Entry{Key: l.key, Value: l.value, Pos: l.pos})
		}
	}
	if !o.lint {
		if !enabled || o.constraints != nil && !o.constraints.match(c.Labels) {
			return &decoded{name: c.Name, id: c.ID}
		}
	}
	d.exposed = true

	root, err := decode.FromEntries(entries)
	if err != nil { // SplitKey above makes this unreachable; be safe.
		issue(containerPos(c.Name), "label", "", "", "", err.Error(), true)
		root = &decode.Node{}
	}
	// Services are decoded here, with the `server` shorthand; everything
	// else goes through the same decoder as files.
	var serviceNodes []*decode.Node
	var routerNames []string
	if h := root.Child("http"); h != nil {
		if s := h.Remove("services"); s != nil {
			if s.IsLeaf() || s.List {
				issue(s.Pos, "service", "", "http.services", s.Value, "want services by name, such as http.services.web.loadbalancer.server.port", true)
			} else {
				serviceNodes = s.Children
			}
		}
		if r := h.Child("routers"); r != nil {
			for _, rn := range r.Children {
				routerNames = append(routerNames, rn.Name)
			}
		}
	}
	cfg, issues := dynamic.Decode(root, ProviderName)
	for i := range issues {
		// The decoder knows the label only by its position.
		if issues[i].Value == "" {
			issues[i].Value = byPos[issues[i].Source]
		}
	}
	d.issues = append(d.issues, issues...)
	if cfg.HTTP == nil {
		cfg.HTTP = &config.HTTP{}
	}
	if cfg.HTTP.Routers == nil {
		cfg.HTTP.Routers = map[string]*config.Router{}
	}
	cfg.HTTP.Services = map[string]*config.Service{}
	d.cfg = cfg

	defName := defaultName(c.Name, c.Labels)
	serviceNames := make([]string, 0, len(serviceNodes))
	servers := map[string]*labelServer{}
	composites := map[string]bool{}
	for _, n := range serviceNodes {
		serviceNames = append(serviceNames, n.Name)
		ls := &labelService{}
		errs := decode.Decode(n, ls, decode.WithPath("http.services."+n.Name))
		for _, e := range errs {
			issue(e.Pos, "service", n.Name, e.Path, byPos[e.Pos], e.Msg, true)
		}
		if len(errs) > 0 {
			continue
		}
		if ls.composite() {
			if ls.LoadBalancer != nil {
				issue(n.Pos, "service", n.Name, "http.services."+n.Name, "", "a service is either a load balancer or a weighted, mirroring or failover service, not both", true)
				continue
			}
			composites[n.Name] = true
			cfg.HTTP.Services[n.Name] = &config.Service{Source: n.Pos, Weighted: ls.Weighted, Mirroring: ls.Mirroring, Failover: ls.Failover}
			continue
		}
		svc := &config.Service{Source: n.Pos, LoadBalancer: &config.LoadBalancer{}}
		if lb := ls.LoadBalancer; lb != nil {
			*svc.LoadBalancer = lb.LoadBalancer
			servers[n.Name] = lb.Server
			if len(lb.Servers) > 0 {
				issue(n.Pos, "service", n.Name, "http.services."+n.Name+".loadbalancer.servers", "",
					"servers cannot be set with labels and are ignored; the container is the server (set loadbalancer.server.port, .scheme or .url)", false)
				svc.LoadBalancer.Servers = nil
			}
		}
		cfg.HTTP.Services[n.Name] = svc
	}
	if len(serviceNodes) == 0 {
		cfg.HTTP.Services[defName] = &config.Service{Source: containerPos(c.Name), LoadBalancer: &config.LoadBalancer{}}
		serviceNames = []string{defName}
	}
	sort.Strings(serviceNames)

	// A container without routers gets one with the default rule, if it
	// has a single service for it to use.
	if len(routerNames) == 0 {
		if len(serviceNames) == 1 {
			cfg.HTTP.Routers[defName] = &config.Router{Source: containerPos(c.Name)}
		} else {
			issue(containerPos(c.Name), "label", "", "", "", fmt.Sprintf("defines several services (%s) and no router; no default router is made", quoteList(serviceNames)), false)
		}
	}
	ruleLabels := map[string]label{}
	for _, l := range labels {
		ruleLabels[strings.ToLower(l.key)] = l
	}
	for name, r := range cfg.HTTP.Routers {
		if l, ok := ruleLabels[strings.ToLower("http.routers."+name+".rule")]; ok {
			// Rule errors are then reported against the rule's label.
			r.Source = l.pos
		}
		if r.Rule == "" {
			rule, err := o.defaultRule.execute(ruleModel{Name: defName, ContainerName: c.Name, Labels: c.Labels})
			if err != nil {
				issue(r.Source, "router", name, "rule", "", err.Error(), true)
				delete(cfg.HTTP.Routers, name)
				continue
			}
			r.Rule = rule
		}
		if r.Service == "" {
			if len(serviceNames) != 1 {
				issue(r.Source, "router", name, "service", "", fmt.Sprintf("the router names no service and the container has %d (%s); set the label \"traefik.http.routers.%s.service\"",
					len(serviceNames), quoteList(serviceNames), name), true)
				delete(cfg.HTTP.Routers, name)
				continue
			}
			r.Service = serviceNames[0]
		}
	}

	// Each service gets this container as its one server.
	var addrWarned bool
	for _, name := range sortedNames(cfg.HTTP.Services) {
		svc := cfg.HTTP.Services[name]
		if composites[name] {
			d.keys["service/"+name] = jsonKey(svc)
			continue
		}
		srv, warn, err := containerServer(c, servers[name], networkLabel, o)
		if err != nil {
			issue(svc.Source, "service", name, "", "", "container "+err.Error(), true)
			delete(cfg.HTTP.Services, name)
			continue
		}
		if warn != "" && !addrWarned {
			addrWarned = true
			issue(containerPos(c.Name), "label", "", "", "", warn, false)
		}
		d.keys["service/"+name] = jsonKey(svc)
		if c.serving() || o.lint {
			svc.LoadBalancer.Servers = []config.Server{srv}
		}
	}
	for name, r := range cfg.HTTP.Routers {
		d.keys["router/"+name] = jsonKey(r)
	}
	for name, m := range cfg.HTTP.Middlewares {
		d.keys["middleware/"+name] = jsonKey(m)
	}
	for name, t := range cfg.HTTP.ServersTransports {
		d.keys["serversTransport/"+name] = jsonKey(t)
	}
	if cfg.TLS != nil {
		for name, t := range cfg.TLS.Options {
			d.keys["tls/"+name] = jsonKey(t)
		}
	}
	return d
}

// collectLabels returns the container's berth and Traefik labels, sorted
// by key. A key set under both prefixes keeps the berth one; if the two
// values differ, the clash is reported as a warning.
func collectLabels(c *containerInfo, issue func(src, kind, object, key, value, msg string, fatal bool)) []label {
	byKey := map[string]label{}
	fulls := make([]string, 0, len(c.Labels))
	for k := range c.Labels {
		fulls = append(fulls, k)
	}
	sort.Strings(fulls)
	for _, full := range fulls {
		lower := strings.ToLower(full)
		var key string
		berth := false
		switch {
		case strings.HasPrefix(lower, prefixBerth):
			key, berth = full[len(prefixBerth):], true
		case strings.HasPrefix(lower, prefixTraefik):
			key = full[len(prefixTraefik):]
		default:
			continue
		}
		l := label{full: full, key: key, value: c.Labels[full], pos: labelPos(c.Name, full)}
		lk := strings.ToLower(key)
		prev, dup := byKey[lk]
		if !dup {
			byKey[lk] = l
			continue
		}
		prevBerth := strings.HasPrefix(strings.ToLower(prev.full), prefixBerth)
		if berth == prevBerth {
			// Two spellings under one prefix ("Traefik.X" and
			// "traefik.x"): the first by name is kept.
			issue(l.pos, "label", "", key, l.value, fmt.Sprintf("the same key as label %q; this one is ignored", prev.full), false)
			continue
		}
		winner, loser := l, prev
		if prevBerth {
			winner, loser = prev, l
		}
		if winner.value != loser.value {
			issue(loser.pos, "label", "", loser.key, loser.value, fmt.Sprintf("overridden by label %q = %q (berth. labels win over traefik. ones)", winner.full, winner.value), false)
		}
		byKey[lk] = winner
	}
	out := make([]label, 0, len(byKey))
	for _, l := range byKey {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// containerServer builds the container's server for one service from the
// `server` shorthand: url as given, or scheme://address:port.
func containerServer(c *containerInfo, s *labelServer, networkLabel string, o *options) (config.Server, string, error) {
	if s == nil {
		s = &labelServer{}
	}
	srv := config.Server{Weight: s.Weight, PreservePath: s.PreservePath, MaxConns: s.MaxConns, Backup: s.Backup, SlowStart: s.SlowStart}
	if s.URL != "" {
		if s.Port != 0 || s.Scheme != "" {
			return srv, "", fmt.Errorf("sets both loadbalancer.server.url and loadbalancer.server.port or .scheme; use one or the other")
		}
		srv.URL = s.URL
		return srv, "", nil
	}
	if s.Port < 0 || s.Port > 65535 {
		return srv, "", fmt.Errorf("label loadbalancer.server.port = %d: want a port between 1 and 65535", s.Port)
	}
	scheme := s.Scheme
	if scheme == "" {
		scheme = "http"
	}
	switch scheme {
	case "http", "https", "h2c":
	default:
		return srv, "", fmt.Errorf("label loadbalancer.server.scheme = %q: want http, https or h2c", scheme)
	}
	if o.lint {
		port := s.Port
		if port == 0 {
			port = 80
		}
		srv.URL = scheme + "://" + hostJoin(normalize(c.Name), port)
		return srv, "", nil
	}
	port, err := choosePort(c, s.Port)
	if err != nil {
		return srv, "", err
	}
	if o.env.useBindPortIP {
		if ip, hp, ok := hostPort(c, port); ok {
			srv.URL = scheme + "://" + hostJoin(ip, hp)
			return srv, "", nil
		}
	}
	addr, err := chooseAddress(c, networkLabel, o.env)
	if err != nil {
		return srv, "", err
	}
	warn := addr.warning
	if o.env.useBindPortIP {
		warn = strings.TrimPrefix(warn+fmt.Sprintf("; port %d is not published on the host (useBindPortIP); using the container's address", port), "; ")
	}
	srv.URL = scheme + "://" + hostJoin(addr.ip, port)
	return srv, warn, nil
}

// jsonKey is the JSON of an object, which leaves out Source; replicas must
// produce the same key to share an object.
func jsonKey(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%p", v) // never equal to another: reported as a conflict
	}
	return string(b)
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
