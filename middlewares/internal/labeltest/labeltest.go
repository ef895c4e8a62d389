// Package labeltest decodes Docker-style labels ("http.middlewares.m.
// rateLimit.average=100") through the same decoder the providers use, so
// that a middleware's tests can check that its options are reachable from
// labels, with Traefik's spelling and case-insensitivity.
package labeltest

import (
	"testing"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/decode"
	"github.com/berthproxy/berth/pkg/dynamic"
)

// Decode decodes labels (keys without the traefik. prefix) as the Docker
// provider would, and returns the configuration and the issues found.
func Decode(t testing.TB, labels map[string]string) (*config.Dynamic, []config.Issue) {
	t.Helper()
	var entries []decode.Entry
	for k, v := range labels {
		entries = append(entries, decode.Entry{Key: k, Value: v, Pos: "label " + k})
	}
	root, err := decode.FromEntries(entries)
	if err != nil {
		t.Fatal(err)
	}
	return dynamic.Decode(root, "docker")
}
