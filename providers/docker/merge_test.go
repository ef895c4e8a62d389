package docker

import (
	"strings"
	"testing"

	"github.com/berthproxy/berth/pkg/config"
)

func TestMergeReplicas(t *testing.T) {
	o, err := parseOptions(config.DockerProvider{ExposedByDefault: true})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name, ip, health string, labels ...string) *containerInfo {
		c := &containerInfo{ID: name, Name: name, Running: true, Health: health, Labels: map[string]string{labelComposeService: "web", labelComposeProject: "shop"},
			Networks: map[string]networkInfo{"shop_default": {IP: ip}}, Ports: []portInfo{{Port: 80, Proto: "tcp"}}}
		for _, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			c.Labels[k] = v
		}
		return c
	}
	tests := []struct {
		desc        string
		containers  []*containerInfo
		wantServers map[string][]string
		wantIssues  []string
	}{
		{
			desc:        "two replicas share one service",
			containers:  []*containerInfo{mk("shop-web-2", "10.0.0.3", ""), mk("shop-web-1", "10.0.0.2", "")},
			wantServers: map[string][]string{"web-shop": {"http://10.0.0.2:80", "http://10.0.0.3:80"}},
		},
		{
			desc:        "an unhealthy replica has no server",
			containers:  []*containerInfo{mk("shop-web-1", "10.0.0.2", "healthy"), mk("shop-web-2", "10.0.0.3", "unhealthy")},
			wantServers: map[string][]string{"web-shop": {"http://10.0.0.2:80"}},
		},
		{
			desc:        "all starting: the service stays, empty",
			containers:  []*containerInfo{mk("shop-web-1", "10.0.0.2", "starting")},
			wantServers: map[string][]string{"web-shop": {}},
		},
		{
			desc: "weights may differ between replicas",
			containers: []*containerInfo{mk("shop-web-1", "10.0.0.2", "", "traefik.http.services.web-shop.loadbalancer.server.weight=2"),
				mk("shop-web-2", "10.0.0.3", "", "traefik.http.services.web-shop.loadbalancer.server.weight=1")},
			wantServers: map[string][]string{"web-shop": {"http://10.0.0.2:80", "http://10.0.0.3:80"}},
		},
		{
			desc: "different service settings conflict",
			containers: []*containerInfo{mk("shop-web-1", "10.0.0.2", "", "traefik.http.services.web-shop.loadbalancer.passhostheader=false"),
				mk("shop-web-2", "10.0.0.3", "")},
			wantServers: map[string][]string{},
			wantIssues:  []string{`service "web-shop": is defined differently by container "shop-web-1" label "traefik.http.services.web-shop.loadbalancer.passhostheader" and container "shop-web-2"`},
		},
		{
			desc: "different middlewares conflict",
			containers: []*containerInfo{mk("a", "10.0.0.2", "", "traefik.http.middlewares.m.stripprefix.prefixes=/a"),
				mk("b", "10.0.0.3", "", "traefik.http.middlewares.m.stripprefix.prefixes=/b")},
			wantServers: map[string][]string{"web-shop": {"http://10.0.0.2:80", "http://10.0.0.3:80"}},
			wantIssues:  []string{`middleware "m": is defined differently by container "a" label "traefik.http.middlewares.m.stripprefix.prefixes" and container "b" label`},
		},
	}
	for _, test := range tests {
		t.Run(test.desc, func(t *testing.T) {
			var ds []*decoded
			for _, c := range test.containers {
				ds = append(ds, decodeContainer(c, o))
			}
			cfg, issues := mergeContainers(ds)
			got := map[string][]string{}
			for n, s := range cfg.HTTP.Services {
				got[n] = []string{}
				for _, srv := range s.LoadBalancer.Servers {
					got[n] = append(got[n], srv.URL)
				}
			}
			if len(got) != len(test.wantServers) {
				t.Fatalf("services %v, want %v", got, test.wantServers)
			}
			for n, want := range test.wantServers {
				if strings.Join(got[n], " ") != strings.Join(want, " ") {
					t.Errorf("service %s servers %v, want %v", n, got[n], want)
				}
			}
			if len(issues) != len(test.wantIssues) {
				t.Fatalf("issues %v, want %v", issues, test.wantIssues)
			}
			for i, w := range test.wantIssues {
				if !strings.Contains(issues[i].Error(), w) {
					t.Errorf("issue %q, want it to contain %q", issues[i].Error(), w)
				}
			}
		})
	}
}
