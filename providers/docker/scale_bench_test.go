package docker

import (
	"fmt"
	"testing"

	"github.com/berthproxy/berth/pkg/config"
)

// BenchmarkSnapshot500 is the provider's per-event cost with 500 running
// containers: rebuild the snapshot from the cached decoded containers and
// hash it.
func BenchmarkSnapshot500(b *testing.B) {
	o, err := parseOptions(config.DockerProvider{ExposedByDefault: true})
	if err != nil {
		b.Fatal(err)
	}
	var ds []*decoded
	for i := range 500 {
		name := fmt.Sprintf("c%03d", i)
		c := &containerInfo{ID: name, Name: name, Running: true, Labels: map[string]string{
			"traefik.http.routers." + name + ".rule": "Host(`" + name + ".example`)",
		}, Networks: map[string]networkInfo{"bridge": {IP: fmt.Sprintf("172.17.%d.%d", i/250, i%250+2)}}, Ports: []portInfo{{Port: 80, Proto: "tcp"}}}
		ds = append(ds, decodeContainer(c, o))
	}
	b.ResetTimer()
	for range b.N {
		cfg, issues := mergeContainers(ds)
		_ = config.Snapshot{Provider: ProviderName, Config: cfg, Issues: issues}.Hash()
	}
}
