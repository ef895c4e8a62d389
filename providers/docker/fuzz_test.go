package docker

import (
	"strings"
	"testing"

	"github.com/berthproxy/berth/pkg/config"
)

// FuzzLabels feeds arbitrary labels to the decoder: it must never panic,
// and every issue must name the container.
func FuzzLabels(f *testing.F) {
	f.Add("traefik.http.routers.web.rule", "Host(`a`)", "traefik.http.services.web.loadbalancer.server.port", "80")
	f.Add("traefik.http.routers.web.tls.domains[0].main", "x", "berth.http.routers.web.tls.domains[0].sans", "a,b")
	f.Add("traefik.http.middlewares.m.stripprefix.prefixes", "/a", "traefik.http.routers.r.middlewares", "m")
	f.Add("traefik.http.services.s.server.port", "x", "traefik.enable", "maybe")
	f.Add("traefik.http.routers.a[0]", "1", "berth.http..x", "")
	o, err := parseOptions(config.DockerProvider{ExposedByDefault: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		c := &containerInfo{ID: "id", Name: "fuzz", Running: true, Labels: map[string]string{k1: v1, k2: v2},
			Networks: map[string]networkInfo{"bridge": {IP: "172.17.0.2"}}, Ports: []portInfo{{Port: 80, Proto: "tcp"}}}
		d := decodeContainer(c, o)
		cfg, issues := mergeContainers([]*decoded{d})
		if cfg == nil || cfg.HTTP == nil {
			t.Fatal("no configuration")
		}
		for _, is := range issues {
			if !strings.Contains(is.Source, `container "fuzz"`) {
				t.Errorf("issue without the container: %s", is.Error())
			}
		}
	})
}
