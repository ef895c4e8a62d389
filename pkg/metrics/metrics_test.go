package metrics

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/reqinfo"
	"github.com/berthproxy/berth/pkg/tlsx"
)

func TestObserverCounts(t *testing.T) {
	r := New(Options{Prometheus: true, EntryPoints: true, Routers: true, Services: true})
	ep := r.EntryPoint("web")
	for _, tc := range []struct {
		desc   string
		method string
		code   int
		n      int
	}{
		{desc: "ok", method: "GET", code: 200, n: 3},
		{desc: "not found", method: "GET", code: 404, n: 2},
		{desc: "odd method", method: "BREW", code: 418, n: 1},
		{desc: "nothing written counts as 200", method: "POST", code: 0, n: 1},
	} {
		for range tc.n {
			ep.Observe(tc.method, reqinfo.ProtoHTTP, tc.code, 10*time.Millisecond, 5, 7)
		}
	}
	want := `
# HELP berth_entrypoint_requests_total How many HTTP requests were processed on an entrypoint, by status code, protocol and method.
# TYPE berth_entrypoint_requests_total counter
berth_entrypoint_requests_total{code="200",entrypoint="web",method="GET",protocol="http"} 3
berth_entrypoint_requests_total{code="200",entrypoint="web",method="POST",protocol="http"} 1
berth_entrypoint_requests_total{code="404",entrypoint="web",method="GET",protocol="http"} 2
berth_entrypoint_requests_total{code="418",entrypoint="web",method="OTHER",protocol="http"} 1
`
	if err := testutil.GatherAndCompare(r.Gatherer(), strings.NewReader(want), "berth_entrypoint_requests_total"); err != nil {
		t.Error(err)
	}
	s := ep.Stats()
	if s.Requests != 7 || s.ByClass["2xx"] != 4 || s.ByClass["4xx"] != 3 {
		t.Errorf("stats = %+v", s)
	}
}

func TestStateAndPrune(t *testing.T) {
	r := New(Options{Prometheus: true, Services: true, Routers: true})
	r.Router("a@file", "s@file").Observe("GET", reqinfo.ProtoHTTP, 200, time.Millisecond, 0, 0)
	r.Service("s@file").Observe("GET", reqinfo.ProtoHTTP, 200, time.Millisecond, 0, 0)
	r.Server("s@file", "http://10.0.0.1").Begin()
	r.SetServerUp("s@file", "http://10.0.0.2", false)
	r.OpenConnections("web").Add(2)
	notAfter := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	r.ConfigApplied(time.Now(), time.Now(), []config.Issue{{Provider: "file", Kind: "router"}, {Provider: "file", Kind: "router"}},
		[]tlsx.CertInfo{{CommonName: "x", Serial: "1", SANs: []string{"x"}, NotAfter: notAfter}})
	for _, tc := range []struct {
		desc, name, want string
	}{
		{desc: "in flight", name: "berth_service_server_in_flight_requests", want: `berth_service_server_in_flight_requests{service="s@file",url="http://10.0.0.1"} 1`},
		{desc: "down", name: "berth_service_server_up", want: `berth_service_server_up{service="s@file",url="http://10.0.0.2"} 0`},
		{desc: "connections", name: "berth_open_connections", want: `berth_open_connections{entrypoint="web",protocol="TCP"} 2`},
		{desc: "problems", name: "berth_config_problems", want: `berth_config_problems{kind="router",provider="file"} 2`},
		{desc: "certificates", name: "berth_tls_certs_not_after", want: `berth_tls_certs_not_after{cn="x",sans="x",serial="1"} 1.893456e+09`},
		{desc: "reloads", name: "berth_config_reloads_total", want: `berth_config_reloads_total 1`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got := gather(t, r, tc.name)
			if !strings.Contains(got, tc.want) {
				t.Errorf("want %s in\n%s", tc.want, got)
			}
		})
	}
	r.Prune(Live{Routers: map[string]string{}, Services: map[string][]string{}})
	if got := gather(t, r, "berth_router_requests_total"); strings.Contains(got, "a@file") {
		t.Errorf("pruned router still exported:\n%s", got)
	}
	if got := gather(t, r, "berth_service_server_up"); strings.Contains(got, "10.0.0.2") {
		t.Errorf("pruned server still exported:\n%s", got)
	}
	// Problems that went away read 0 rather than vanish.
	r.ConfigApplied(time.Now(), time.Now(), nil, nil)
	if got := gather(t, r, "berth_config_problems"); !strings.Contains(got, `provider="file"} 0`) {
		t.Errorf("resolved problems:\n%s", got)
	}
}

func gather(t *testing.T, r *Registry, name string) string {
	t.Helper()
	mfs, err := r.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			b.WriteString(name + "{")
			for i, l := range m.GetLabel() {
				if i > 0 {
					b.WriteString(",")
				}
				b.WriteString(l.GetName() + `="` + l.GetValue() + `"`)
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			b.WriteString("} ")
			b.WriteString(formatFloat(v))
			b.WriteString("\n")
		}
	}
	return strings.ReplaceAll(b.String(), "{} ", " ")
}

func formatFloat(v float64) string {
	return strings.TrimSuffix(strings.TrimSuffix(strconvFormat(v), ".0"), ".")
}

func TestNoPrometheus(t *testing.T) {
	r := New(Options{})
	o := r.Router("a", "s")
	o.Observe("GET", reqinfo.ProtoHTTP, 200, time.Millisecond, 0, 0)
	if r.RouterStats()["a"].Requests != 1 {
		t.Error("API counters must work without Prometheus")
	}
	if r.Gatherer() != nil {
		t.Error("no registry expected")
	}
	DockerEvent("start") // must not panic
}

func BenchmarkObserve(b *testing.B) {
	r := New(Options{Prometheus: true, EntryPoints: true})
	o := r.EntryPoint("web")
	b.ReportAllocs()
	for b.Loop() {
		o.Observe("GET", reqinfo.ProtoHTTP, 200, time.Millisecond, 0, 512)
	}
}

func strconvFormat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func TestServerHealthFollowsBalancer(t *testing.T) {
	tests := []struct {
		desc  string
		up    bool
		gauge string
	}{
		{desc: "available server is up", up: true, gauge: "1"},
		{desc: "ejected or failing server is down", up: false, gauge: "0"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := New(Options{Prometheus: true, Services: true})
			up := tc.up
			r.Server("s@file", "http://10.0.0.3").SetHealth(func() bool { return up })
			want := `berth_service_server_up{service="s@file",url="http://10.0.0.3"} ` + tc.gauge
			if got := gather(t, r, "berth_service_server_up"); !strings.Contains(got, want) {
				t.Fatalf("want %s in\n%s", want, got)
			}
			if st := r.ServerStates("s@file")["http://10.0.0.3"]; st.Up != tc.up {
				t.Fatalf("API state up=%v, want %v", st.Up, tc.up)
			}
		})
	}
}

func TestACMEStats(t *testing.T) {
	r := New(Options{Prometheus: true})
	r.SetACME(func() []ACMEStats {
		return []ACMEStats{{Resolver: "le", Orders: 3, Issued: 1, Renewed: 1, Failures: map[string]uint64{"rejectedChallenge": 2}, Certificates: 1, Pending: 1}}
	})
	tests := []struct{ desc, name, want string }{
		{desc: "orders", name: "berth_acme_orders_total", want: `berth_acme_orders_total{resolver="le"} 3`},
		{desc: "failures by kind", name: "berth_acme_failures_total", want: `berth_acme_failures_total{kind="rejectedChallenge",resolver="le"} 2`},
		{desc: "renewals", name: "berth_acme_certificates_obtained_total", want: `berth_acme_certificates_obtained_total{reason="renewal",resolver="le"} 1`},
		{desc: "pending", name: "berth_acme_certificates", want: `berth_acme_certificates{resolver="le",state="pending"} 1`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := gather(t, r, tc.name); !strings.Contains(got, tc.want) {
				t.Fatalf("want %s in\n%s", tc.want, got)
			}
		})
	}
}
