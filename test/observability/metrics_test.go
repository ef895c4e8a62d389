//go:build obs

package observability

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthproxy/berth/test/testutil"
)

// TestMetricsAfterKnownTraffic sends a known mix of requests and checks
// the counts, durations and bytes per entrypoint, router and service, in
// berth's namespace and in Traefik's.
func TestMetricsAfterKnownTraffic(t *testing.T) {
	for _, tc := range []struct {
		desc string
		ns   string
		flag []string
	}{
		{desc: "default namespace", ns: "berth"},
		{desc: "traefik namespace for Traefik dashboards", ns: "traefik", flag: []string{"--metrics.prometheus.namespace=traefik"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			be := okBackend(t)
			flags := append([]string{"--metrics.prometheus=true", "--metrics.prometheus.addRoutersLabels=true"}, tc.flag...)
			b := startBerth(t, appConfig(be, `    gone:
      rule: "Host(`+"`gone.localhost`"+`)"
      service: gone
`)+`    gone:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:1"
`, flags...)
			for range 5 {
				if code, _, _ := get(t, "GET", b.web+"/", "app.localhost", nil); code != 200 {
					t.Fatalf("status %d", code)
				}
			}
			for range 3 {
				get(t, "GET", b.web+"/?status=404", "app.localhost", nil)
			}
			for range 2 {
				get(t, "GET", b.web+"/", "gone.localhost", nil)
			}
			req := strings.NewReader(strings.Repeat("x", 100))
			code, _, _ := postBody(t, b.web+"/", "app.localhost", req)
			if code != 200 {
				t.Fatalf("POST: %d", code)
			}
			// A reader of unknown length makes the client send a chunked
			// body; its 50 bytes must be counted all the same.
			chunked := io.MultiReader(strings.NewReader(strings.Repeat("y", 50)))
			if code, _, _ := postBody(t, b.web+"/", "app.localhost", chunked); code != 200 {
				t.Fatalf("chunked POST: %d", code)
			}
			text := b.metricsText()
			ns := tc.ns
			want := map[string]float64{
				ns + `_entrypoint_requests_total{code="200",entrypoint="web",method="GET",protocol="http"}`:                   5,
				ns + `_entrypoint_requests_total{code="404",entrypoint="web",method="GET",protocol="http"}`:                   3,
				ns + `_entrypoint_requests_total{code="502",entrypoint="web",method="GET",protocol="http"}`:                   2,
				ns + `_entrypoint_requests_total{code="200",entrypoint="web",method="POST",protocol="http"}`:                  2,
				ns + `_entrypoint_request_duration_seconds_count{code="200",entrypoint="web",method="GET",protocol="http"}`:   5,
				ns + `_entrypoint_requests_bytes_total{code="200",entrypoint="web",method="POST",protocol="http"}`:            150,
				ns + `_entrypoint_responses_bytes_total{code="200",entrypoint="web",method="GET",protocol="http"}`:            10,
				ns + `_router_requests_total{code="200",method="GET",protocol="http",router="app@file",service="app@file"}`:   5,
				ns + `_router_requests_total{code="502",method="GET",protocol="http",router="gone@file",service="gone@file"}`: 2,
				ns + `_service_requests_total{code="404",method="GET",protocol="http",service="app@file"}`:                    3,
				ns + `_service_request_duration_seconds_count{code="502",method="GET",protocol="http",service="gone@file"}`:   2,
				ns + `_service_server_up{service="app@file",url="` + be + `"}`:                                                1,
				ns + `_service_server_in_flight_requests{service="app@file",url="` + be + `"}`:                                0,
				ns + `_config_problems{kind="router",provider="file"}`:                                                        -1, // no problem yet
				ns + `_open_connections{entrypoint="traefik",protocol="TCP"}`:                                                 1,  // this scrape
			}
			for series, v := range want {
				if got := metricValue(text, series); got != v {
					t.Errorf("%s = %v, want %v", series, got, v)
				}
			}
			// tls_certs_not_after has no series here: there is no
			// certificate (pkg/metrics unit tests cover it).
			for _, name := range []string{"_config_reloads_total", "_config_last_reload_success", "_route_convergence_seconds_count"} {
				if !strings.Contains(text, "\n"+ns+name) {
					t.Errorf("%s%s missing", ns, name)
				}
			}
			// Internal routers (ping, metrics) are not counted unless
			// metrics.addInternals is set. (A 404 on the traefik
			// entrypoint is possible: the harness polls /ping before
			// berth's own routers are in force.)
			if strings.Contains(text, `router="ping@internal"`) || strings.Contains(text, `code="200",entrypoint="traefik"`) {
				t.Errorf("internal requests were counted:\n%s", grepLines(text, "internal"))
			}
			if t.Failed() {
				t.Logf("metrics:\n%s", grepLines(text, ns+"_"))
			}
		})
	}
}

// TestPromtoolCheckMetrics runs `promtool check metrics` on berth's output
// after traffic, so that every series, name and help text is valid.
func TestPromtoolCheckMetrics(t *testing.T) {
	if _, err := exec.LookPath("promtool"); err != nil {
		skipOrFail(t, "promtool not installed (Debian package prometheus)")
	}
	be := okBackend(t)
	b := startBerth(t, appConfig(be, ""), "--metrics.prometheus=true", "--metrics.prometheus.addRoutersLabels=true")
	for range 3 {
		get(t, "GET", b.web+"/", "app.localhost", nil)
	}
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(b.metricsText())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestPrometheusScrapes starts a real Prometheus that scrapes berth every
// second and asks its HTTP API for the count of requests sent.
func TestPrometheusScrapes(t *testing.T) {
	if _, err := exec.LookPath("prometheus"); err != nil {
		skipOrFail(t, "prometheus not installed (Debian package prometheus)")
	}
	be := okBackend(t)
	b := startBerth(t, appConfig(be, ""), "--metrics.prometheus=true")
	const sent = 7
	for range sent {
		get(t, "GET", b.web+"/", "app.localhost", nil)
	}
	dir := t.TempDir()
	target := strings.TrimPrefix(b.admin, "http://")
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: berth
    scrape_interval: 1s
    static_configs:
      - targets: [%q]
`, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	port := testutil.FreePort(t)
	prom := testutil.Start(t, "prometheus", nil, "prometheus", "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--log.level=warn")
	t.Cleanup(prom.Kill)
	query := `sum(berth_entrypoint_requests_total{entrypoint="web",code="200"})`
	u := fmt.Sprintf("http://127.0.0.1:%d/api/v1/query?query=%s", port, url.QueryEscape(query))
	var last string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-prom.Done():
			t.Fatalf("prometheus exited:\n%s", prom.Log())
		default:
		}
		resp, err := client.Get(u)
		if err == nil {
			var r struct {
				Status string `json:"status"`
				Data   struct {
					Result []struct {
						Value [2]any `json:"value"`
					} `json:"result"`
				} `json:"data"`
			}
			err = json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			if err == nil && len(r.Data.Result) == 1 {
				last = fmt.Sprint(r.Data.Result[0].Value[1])
				if last == fmt.Sprint(sent) {
					return
				}
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("Prometheus never reported %d requests for %s (last value %q)", sent, query, last)
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
