//go:build e2e

package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// TestCheck runs `berth check` on good and bad static and dynamic files and
// checks the exit code and that each problem is printed with its
// file:line:col.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	good := aWriteFile(t, dir, "good.yml", `http:
  routers:
    app:
      rule: "Host(`+"`app.test`"+`) && PathPrefix(`+"`/api`"+`)"
      middlewares: [strip]
      service: app
  middlewares:
    strip:
      stripPrefix:
        prefixes: ["/api"]
  services:
    app:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:8081"
          - url: "http://127.0.0.1:8082"
            weight: 2
`)
	// Line numbers are 1-based; columns point at a router (5) or one of
	// its keys (7).
	bad := aWriteFile(t, dir, "bad.yml", `http:
  routers:
    badrule:
      rule: "Host(`+"`a.test`"+`"
      service: svc
    unknownkey:
      rule: "Host(`+"`b.test`"+`)"
      servce: svc
      service: svc
    missing:
      rule: "Host(`+"`c.test`"+`)"
      service: nosuch
  services:
    svc:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:8081"
`)
	staticBad := aWriteFile(t, dir, "static.yml", `entryPoints:
  web:
    adress: ":80"
ping: {}
`)
	staticGood := aWriteFile(t, dir, "berth.yml", `entryPoints:
  web:
    address: ":80"
providers:
  file:
    filename: /dev/null
ping: {}
`)

	type problem struct {
		desc string
		re   string // regexp the output must match, after the file name
	}
	tests := []struct {
		desc     string
		args     []string
		wantCode int
		file     string // file whose problems are expected
		problems []problem
		wantOut  string // substring of the output when there are no problems
	}{
		{desc: "good dynamic file", args: []string{good}, wantCode: 0, wantOut: "configuration OK"},
		{desc: "good static file", args: []string{staticGood}, wantCode: 0, wantOut: "configuration OK"},
		{desc: "good static and dynamic files together", args: []string{staticGood, good}, wantCode: 0, wantOut: "configuration OK"},
		{desc: "dynamic file with a bad rule, an unknown key and a missing service", args: []string{bad}, wantCode: 1, file: bad, problems: []problem{
			{desc: "bad rule", re: `:(3:5|4:7): .*badrule.*rule`},
			{desc: "unknown key", re: `:8:7: .*unknown key "servce"; did you mean "service"`},
			{desc: "missing service", re: `:(10:5|12:7): .*missing.*"nosuch.*does not exist`},
		}},
		{desc: "static file with an unknown key", args: []string{staticBad}, wantCode: 1, file: staticBad, problems: []problem{
			{desc: "unknown key with a suggestion", re: `:3:5: .*unknown key "adress"; did you mean "address"\?`},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			code, out := aRunBerth(t, append([]string{"check"}, tc.args...)...)
			if strings.Contains(out, "panic:") {
				t.Fatalf("berth check panicked (exit %d):\n%s", code, out)
			}
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d; output:\n%s", code, tc.wantCode, out)
			}
			if tc.wantOut != "" && !strings.Contains(out, tc.wantOut) {
				t.Errorf("output does not contain %q:\n%s", tc.wantOut, out)
			}
			for _, p := range tc.problems {
				re := regexp.MustCompile(`(?m)^error: ` + regexp.QuoteMeta(tc.file) + p.re)
				if !re.MatchString(out) {
					t.Errorf("%s: no line matches %s in:\n%s", p.desc, re, out)
				}
			}
		})
	}
}
