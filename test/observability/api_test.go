//go:build obs

package observability

import (
	"strings"
	"testing"
	"time"
)

type routerJSON struct {
	Name     string   `json:"name"`
	Status   string   `json:"status"`
	Provider string   `json:"provider"`
	Rule     string   `json:"rule"`
	Source   string   `json:"source"`
	Errors   []string `json:"error"`
	Stats    *struct {
		Requests uint64 `json:"requests"`
	} `json:"stats"`
}

type problemJSON struct {
	Source  string `json:"source"`
	Object  string `json:"object"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Status  string `json:"status"`
}

// TestAPIAfterReloadAndBadConfig checks the API after a file change adds a
// router and after a bad router: each object carries its status, errors,
// provider and source, and /api/problems points at the file line.
func TestAPIAfterReloadAndBadConfig(t *testing.T) {
	be := okBackend(t)
	b := startBerth(t, appConfig(be, ""), "--api.insecure=true")
	get(t, "GET", b.web+"/", "app.localhost", nil)
	get(t, "GET", b.web+"/", "app.localhost", nil)

	var app routerJSON
	getJSON(t, b.admin+"/api/http/routers/app@file", &app)
	if app.Status != "enabled" || app.Provider != "file" || app.Stats == nil || app.Stats.Requests != 2 || !strings.Contains(app.Source, "dynamic.yml:") {
		t.Errorf("router app@file = %+v", app)
	}

	b.writeDynamic(appConfig(be, `    added:
      rule: "Host(`+"`added.localhost`"+`)"
      service: app
    broken:
      rule: "Host(`+"`broken.localhost`"+`"
      service: app
`))
	var routers []routerJSON
	b.waitFor(5*time.Second, "the new routers in the API", func() bool {
		routers = nil
		getJSON(t, b.admin+"/api/http/routers?search=@file", &routers)
		return len(routers) == 3
	})
	byName := map[string]routerJSON{}
	for _, r := range routers {
		byName[r.Name] = r
	}
	for _, tc := range []struct {
		desc, name, status string
		wantErr            bool
	}{
		{desc: "router added by a file change", name: "added@file", status: "enabled"},
		{desc: "router with a bad rule", name: "broken@file", status: "disabled", wantErr: true},
		{desc: "router that was there", name: "app@file", status: "enabled"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r, ok := byName[tc.name]
			if !ok {
				t.Fatalf("router %s missing: %+v", tc.name, routers)
			}
			if r.Status != tc.status || (len(r.Errors) > 0) != tc.wantErr {
				t.Errorf("%s: status %q errors %q", tc.name, r.Status, r.Errors)
			}
		})
	}

	var problems []problemJSON
	getJSON(t, b.admin+"/api/problems", &problems)
	if len(problems) != 1 {
		t.Fatalf("problems = %+v, want one", problems)
	}
	p := problems[0]
	if p.Object != "broken@file" || p.Kind != "router" || p.Status != "disabled" || !strings.HasSuffix(p.Source, "dynamic.yml:10:7") || !strings.Contains(p.Message, "rule") {
		t.Errorf("problem = %+v", p)
	}

	var overview struct {
		HTTP struct {
			Routers struct{ Total, Errors int } `json:"routers"`
		} `json:"http"`
		Problems struct{ Total int } `json:"problems"`
	}
	getJSON(t, b.admin+"/api/overview", &overview)
	if overview.Problems.Total != 1 || overview.HTTP.Routers.Errors != 1 {
		t.Errorf("overview = %+v", overview)
	}

	for _, tc := range []struct {
		desc, query string
		want        int
		nextPage    string
	}{
		{desc: "first page", query: "?search=@file&per_page=2", want: 2, nextPage: "2"},
		{desc: "last page", query: "?search=@file&per_page=2&page=2", want: 1, nextPage: "1"},
		{desc: "status filter", query: "?status=disabled", want: 1, nextPage: "1"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			code, hdr, body := get(t, "GET", b.admin+"/api/http/routers"+tc.query, "", nil)
			if code != 200 || hdr.Get("X-Next-Page") != tc.nextPage || strings.Count(body, `"name":`) != tc.want {
				t.Errorf("%s: %d next=%q body=%s", tc.query, code, hdr.Get("X-Next-Page"), body)
			}
		})
	}

	code, _, body := get(t, "PUT", b.admin+"/api/log/level", "", nil)
	if code != 400 {
		t.Errorf("PUT without a level: %d %s", code, body)
	}
	req := strings.NewReader(`{"level":"debug"}`)
	if code, _, body := putBody(t, b.admin+"/api/log/level", req); code != 200 || !strings.Contains(body, "DEBUG") {
		t.Errorf("PUT level: %d %s", code, body)
	}
	var lvl struct{ Level string }
	getJSON(t, b.admin+"/api/log/level", &lvl)
	if lvl.Level != "DEBUG" {
		t.Errorf("level = %q", lvl.Level)
	}
	if code, hdr, _ := get(t, "GET", b.admin+"/", "", nil); code != 302 || hdr.Get("Location") != "/dashboard/" {
		t.Errorf("GET / on the internal entrypoint: %d %s", code, hdr.Get("Location"))
	}
}

// TestAPIOffByDefault checks that without --api nothing is served.
func TestAPIOffByDefault(t *testing.T) {
	b := startBerth(t, appConfig(okBackend(t), ""))
	for _, path := range []string{"/api/overview", "/dashboard/", "/metrics"} {
		if code, _, _ := get(t, "GET", b.admin+path, "", nil); code != 404 {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
}

// TestAPIBasePathAndDebug: with api.basePath the API and dashboard move
// under it (and nothing is left at the root), and api.debug adds Go's
// profiling endpoints, as in Traefik.
func TestAPIBasePathAndDebug(t *testing.T) {
	b := startBerth(t, appConfig(okBackend(t), ""), "--api.insecure=true", "--api.basePath=/traefik", "--api.debug=true")
	for _, tc := range []struct {
		desc, path string
		code       int
		location   string // for redirects
		contains   string // in the body
	}{
		{desc: "API under the base path", path: "/traefik/api/http/routers", code: 200, contains: `"app@file"`},
		{desc: "dashboard under the base path", path: "/traefik/dashboard/", code: 200, contains: "<html"},
		{desc: "dashboard script under the base path", path: "/traefik/dashboard/app.js", code: 200, contains: `fetch("../api/"`},
		{desc: "base path redirects to its dashboard", path: "/traefik/", code: 302, location: "/traefik/dashboard/"},
		{desc: "dashboard without slash redirects", path: "/traefik/dashboard", code: 302, location: "/traefik/dashboard/"},
		{desc: "nothing at the root API path", path: "/api/http/routers", code: 404},
		{desc: "pprof index", path: "/traefik/debug/pprof/", code: 200, contains: "goroutine"},
		{desc: "expvar", path: "/traefik/debug/vars", code: 200, contains: `"memstats"`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			code, hdr, body := get(t, "GET", b.admin+tc.path, "", nil)
			if code != tc.code {
				t.Fatalf("GET %s: %d, want %d\n%.300s", tc.path, code, tc.code, body)
			}
			if tc.location != "" && hdr.Get("Location") != tc.location {
				t.Errorf("Location %q, want %q", hdr.Get("Location"), tc.location)
			}
			if !strings.Contains(body, tc.contains) {
				t.Errorf("body lacks %q:\n%.300s", tc.contains, body)
			}
		})
	}
	// Without api.debug there is no /debug.
	b2 := startBerth(t, appConfig(okBackend(t), ""), "--api.insecure=true")
	if code, _, _ := get(t, "GET", b2.admin+"/debug/pprof/", "", nil); code != 404 {
		t.Errorf("GET /debug/pprof/ without api.debug: %d, want 404", code)
	}
}
