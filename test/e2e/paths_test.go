//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestPathSanitizing: "/public/../admin" must be routed (and forwarded) as
// "/admin", else the public router would carry a request that the backend
// serves as /admin, past whatever the admin router guards it with. With
// sanitizePath=false berth routes and forwards the path as sent.
func TestPathSanitizing(t *testing.T) {
	admin, public := aRecordingBackend(t, "admin"), aRecordingBackend(t, "public")
	dyn := fmt.Sprintf(`
http:
  routers:
    admin:
      rule: "PathPrefix(%[1]s/admin%[1]s)"
      service: admin
    public:
      rule: "PathPrefix(%[1]s/public%[1]s)"
      service: public
  services:
%[2]s%[3]s`, "`", aService("admin", admin.URL), aService("public", public.URL))
	for _, tc := range []struct {
		desc        string
		flags       []string
		target      string
		wantBackend string
		wantPath    string
	}{
		{desc: "dot-dot climbs out of the public prefix", target: "/public/../admin/secret", wantBackend: "admin", wantPath: "/admin/secret"},
		{desc: "encoded dots too", target: "/public/%2e%2e/admin/secret", wantBackend: "admin", wantPath: "/admin/secret"},
		{desc: "repeated slashes and dot segments", target: "//public/./a//b", wantBackend: "public", wantPath: "/public/a/b"},
		{desc: "sanitizePath=false routes the path as sent", flags: []string{"--entryPoints.web.http.sanitizePath=false"},
			target: "/public/../admin/secret", wantBackend: "public", wantPath: "/public/../admin/secret"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			in := start(t, []string{"web"}, dyn, tc.flags...)
			res := aSendRaw(t, in.aAddr("web"), "GET "+tc.target+" HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n", 5*time.Second)
			if res.status != 200 || !strings.Contains(res.raw, tc.wantBackend+" "+tc.wantPath) {
				t.Fatalf("GET %s: want %q from %s, got:\n%s", tc.target, tc.wantPath, tc.wantBackend, res.raw)
			}
		})
	}
}
