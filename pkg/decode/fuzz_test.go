package decode

import (
	"strings"
	"testing"

	"github.com/berthproxy/berth/pkg/config"
)

// FuzzDecodeYAML checks that no YAML document makes parsing or decoding
// into config.Dynamic panic.
func FuzzDecodeYAML(f *testing.F) {
	for _, s := range []string{
		"http:\n  routers:\n    a:\n      rule: x\n      priority: 1\n",
		"http:\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: a\n",
		"a: &x\n  b: *x\n",
		"tls:\n  certificates:\n    - certFile: a\n",
		"http: {routers: {a: {middlewares: {'[3]': x}}}}",
		"- 1\n- 2\n",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := FromYAML("f.yml", []byte(s))
		if err != nil {
			return
		}
		var d config.Dynamic
		for _, e := range Decode(n, &d) {
			if e.Msg == "" {
				t.Errorf("error without a message at %s", e.Pos)
			}
		}
	})
}

// FuzzFlags checks that no command line makes parsing or decoding into
// config.Static panic.
func FuzzFlags(f *testing.F) {
	f.Add("--entryPoints.web.address=:80 --ping --api.insecure=true")
	f.Add("--entrypoints.a.http.tls.domains[0].main=x --metrics.prometheus.buckets=1,2")
	f.Add("--a[1][2].b=3 --providers.docker false")
	f.Fuzz(func(t *testing.T, line string) {
		n, err := FromFlags(strings.Fields(line))
		if err != nil {
			return
		}
		var s config.Static
		Decode(n, &s)
	})
}
