package dynamic

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/decode"
)

// rawDynamic is the dynamic configuration with every object left as a raw
// subtree: decoding it checks the section names (with suggestions) while
// each object is decoded, and can fail, on its own.
type rawDynamic struct {
	HTTP *rawHTTP `json:"http"`
	TLS  *rawTLS  `json:"tls"`
	// TCP and UDP are Traefik sections that berth does not implement;
	// they are accepted so that they can be reported as ignored rather
	// than as typos.
	TCP *decode.Node `json:"tcp"`
	UDP *decode.Node `json:"udp"`
}

type rawHTTP struct {
	Routers           map[string]*decode.Node `json:"routers"`
	Services          map[string]*decode.Node `json:"services"`
	Middlewares       map[string]*decode.Node `json:"middlewares"`
	ServersTransports map[string]*decode.Node `json:"serversTransports"`
}

type rawTLS struct {
	Certificates []*decode.Node          `json:"certificates"`
	Options      map[string]*decode.Node `json:"options"`
	Stores       map[string]*decode.Node `json:"stores"`
}

// Decode decodes a dynamic configuration tree, such as one built from a
// file or from container labels, for provider (which fills Issue.Provider).
func Decode(root *decode.Node, provider string) (*config.Dynamic, []config.Issue) {
	b := &builder{provider: provider, kind: "file"}
	if provider != "file" {
		b.kind = "config"
	}
	out := &config.Dynamic{}
	var raw rawDynamic
	b.report(b.kind, "", decode.Decode(root, &raw))
	for _, s := range []*decode.Node{raw.TCP, raw.UDP} {
		if s != nil {
			b.issues = append(b.issues, config.Issue{Source: s.Pos, Provider: provider, Kind: b.kind, Key: s.Name,
				Msg: "berth routes HTTP only; this section is ignored"})
		}
	}
	if h := raw.HTTP; h != nil {
		out.HTTP = &config.HTTP{
			Routers:           decodeAll[config.Router](b, "router", "http.routers", h.Routers, nil),
			Services:          decodeAll(b, "service", "http.services", h.Services, checkService),
			Middlewares:       decodeAll[config.Middleware](b, "middleware", "http.middlewares", h.Middlewares, nil),
			ServersTransports: decodeAll[config.ServersTransport](b, "serversTransport", "http.serversTransports", h.ServersTransports, nil),
		}
	}
	if t := raw.TLS; t != nil {
		out.TLS = &config.TLS{
			Options: decodeAll[config.TLSOption](b, "tlsOption", "tls.options", t.Options, nil),
			Stores:  decodeAll[config.TLSStore](b, "tlsStore", "tls.stores", t.Stores, nil),
		}
		for i, n := range t.Certificates {
			if n == nil {
				continue
			}
			name := "certificates[" + strconv.Itoa(i) + "]"
			c := &config.CertAndStores{}
			if b.decode("certificate", name, "tls."+name, n, c, func() *decode.Error { return checkCertificate(n, c) }) {
				out.TLS.Certificates = append(out.TLS.Certificates, c)
			}
		}
	}
	sortIssues(b.issues)
	return out, b.issues
}

// builder collects issues while objects are decoded.
type builder struct {
	provider string
	kind     string // kind of issues that concern no single object
	issues   []config.Issue
}

// check validates a decoded object; it returns the node and message of a
// problem, or nil.
type check[T any] func(n *decode.Node, v *T) *decode.Error

// decodeAll decodes every named object of one section, keeping those that
// decode without error.
func decodeAll[T any](b *builder, kind, section string, nodes map[string]*decode.Node, chk check[T]) map[string]*T {
	if len(nodes) == 0 {
		return nil
	}
	out := make(map[string]*T, len(nodes))
	for name, n := range nodes {
		v := new(T)
		var validate func() *decode.Error
		if chk != nil {
			validate = func() *decode.Error { return chk(n, v) }
		}
		if b.decode(kind, name, section+"."+name, n, v, validate) {
			out[name] = v
		}
	}
	return out
}

// decode decodes one object into v and, if that worked, runs validate (which
// may be nil). It reports whether the object is to be kept.
func (b *builder) decode(kind, name, path string, n *decode.Node, v any, validate func() *decode.Error) bool {
	errs := decode.Decode(n, v, decode.WithPath(path), decode.WithHook(middlewareType, decodeMiddleware))
	if len(errs) == 0 && validate != nil {
		if e := validate(); e != nil {
			errs = append(errs, e)
		}
	}
	b.report(kind, name, errs)
	return len(errs) == 0
}

func (b *builder) report(kind, object string, errs []*decode.Error) {
	for _, e := range errs {
		b.issues = append(b.issues, config.Issue{
			Source: e.Pos, Provider: b.provider, Kind: kind, Object: object,
			Key: e.Path, Msg: e.Msg, Fatal: true,
		})
	}
}

// checkService requires exactly one kind of service, since a service that
// names none has nowhere to send requests.
func checkService(n *decode.Node, s *config.Service) *decode.Error {
	var kinds []string
	if s.LoadBalancer != nil {
		kinds = append(kinds, "loadBalancer")
	}
	if s.Weighted != nil {
		kinds = append(kinds, "weighted")
	}
	if s.Mirroring != nil {
		kinds = append(kinds, "mirroring")
	}
	if s.Failover != nil {
		kinds = append(kinds, "failover")
	}
	switch len(kinds) {
	case 0:
		return decode.Errorf(n, "", "service defines no kind of service; want one of loadBalancer, weighted, mirroring, failover")
	case 1:
		return nil
	}
	return decode.Errorf(n, "", "service defines %s; want exactly one kind of service", strings.Join(kinds, " and "))
}

// checkCertificate requires both halves of a certificate.
func checkCertificate(n *decode.Node, c *config.CertAndStores) *decode.Error {
	var missing []string
	if strings.TrimSpace(c.CertFile) == "" {
		missing = append(missing, "certFile")
	}
	if strings.TrimSpace(c.KeyFile) == "" {
		missing = append(missing, "keyFile")
	}
	if len(missing) > 0 {
		return decode.Errorf(n, "", "certificate needs %s (a file path or inline PEM)", strings.Join(missing, " and "))
	}
	return nil
}

var middlewareType = reflect.TypeFor[config.Middleware]()

// sortIssues orders issues by file, line and column, so that they read in
// the order of the file rather than in map order.
func sortIssues(issues []config.Issue) {
	sort.SliceStable(issues, func(i, j int) bool {
		fi, li, ci := splitPos(issues[i].Source)
		fj, lj, cj := splitPos(issues[j].Source)
		if fi != fj {
			return fi < fj
		}
		if li != lj {
			return li < lj
		}
		if ci != cj {
			return ci < cj
		}
		return issues[i].Error() < issues[j].Error()
	})
}

// splitPos splits "file:line:col"; sources of other shapes sort by text.
func splitPos(s string) (file string, line, col int) {
	file = s
	parts := strings.Split(s, ":")
	nums := []int{}
	for len(parts) > 1 && len(nums) < 2 {
		n, err := strconv.Atoi(parts[len(parts)-1])
		if err != nil {
			break
		}
		nums = append([]int{n}, nums...)
		parts = parts[:len(parts)-1]
	}
	file = strings.Join(parts, ":")
	switch len(nums) {
	case 2:
		return file, nums[0], nums[1]
	case 1:
		return file, nums[0], 0
	}
	return file, 0, 0
}

// describe lists names for a message: `"a", "b"`.
func describe(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
