package routing

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/metrics"
	"github.com/berthproxy/berth/pkg/proxy"
	"github.com/berthproxy/berth/pkg/reqinfo"
)

// TestObserversFillTheRecord builds a table with metrics and checks that a
// request through it gets its router, service and server recorded and
// counted.
func TestObserversFillTheRecord(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer backend.Close()
	reg := metrics.New(metrics.Options{})
	cfg := &config.Dynamic{HTTP: &config.HTTP{
		Routers: map[string]*config.Router{"r@file": {Rule: "PathPrefix(`/`)", Service: "s", EntryPoints: []string{"web"}}},
		Services: map[string]*config.Service{"s@file": {LoadBalancer: &config.LoadBalancer{
			Servers: []config.Server{{URL: backend.URL}},
		}}},
	}}
	pool := proxy.NewPool(nil)
	defer pool.Close()
	tbl := Build(cfg, nil, 1, Deps{EntryPoints: map[string]*config.EntryPoint{"web": {}}, Pools: NewPools(pool), Metrics: reg})
	for _, tc := range []struct {
		desc     string
		observed bool
	}{
		{desc: "observed request", observed: true},
		{desc: "unobserved request still served", observed: false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			rec := httptest.NewRecorder()
			var w http.ResponseWriter = rec
			var rw *reqinfo.Writer
			if tc.observed {
				rw = reqinfo.Acquire(rec, time.Now())
				w = rw
			}
			tbl.Handler("web").ServeHTTP(w, httptest.NewRequest("GET", "http://x/", nil))
			if rec.Code != 204 {
				t.Fatalf("status %d", rec.Code)
			}
			if !tc.observed {
				return
			}
			got := rw.Record
			if got.Router != "r@file" || got.Service != "s@file" || got.ServiceURL != backend.URL || got.OriginStatus != 204 || got.OriginDuration <= 0 {
				t.Errorf("record = %+v", got)
			}
			reqinfo.Release(rw)
		})
	}
	if n := reg.RouterStats()["r@file"].Requests; n != 1 {
		t.Errorf("router requests = %d, want 1", n)
	}
	if st := reg.ServerStates("s@file")[backend.URL]; st.Requests != 2 || st.InFlight != 0 {
		t.Errorf("server state = %+v", st)
	}
	live := tbl.Live()
	if live.Routers["r@file"] != "s@file" || len(live.Services["s@file"]) != 1 {
		t.Errorf("live = %+v", live)
	}
}
