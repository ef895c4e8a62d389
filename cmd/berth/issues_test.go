package main

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/berthproxy/berth/pkg/config"
)

func TestIssueLogLogsEachProblemOnce(t *testing.T) {
	bad := config.Issue{Source: `container "a" label "traefik.http.routers.x.rul"`, Msg: "unknown key", Fatal: true}
	warn := config.Issue{Source: "dynamic.yml:3:5", Msg: "entrypoint does not exist"}
	core, logs := observer.New(zap.DebugLevel)
	l := newIssueLog(zap.New(core))
	steps := []struct {
		desc   string
		issues []config.Issue
		want   []string // messages logged by this step
	}{
		{desc: "first configuration logs its problems", issues: []config.Issue{bad, warn}, want: []string{"configuration problem", "configuration warning"}},
		{desc: "an unrelated change logs nothing again", issues: []config.Issue{bad, warn}, want: nil},
		{desc: "a duplicate within one configuration is logged once", issues: []config.Issue{bad, bad, warn}, want: nil},
		{desc: "a fixed problem is logged as resolved", issues: []config.Issue{bad}, want: []string{"configuration problem resolved"}},
		{desc: "a problem that comes back is logged again", issues: []config.Issue{bad, warn}, want: []string{"configuration warning"}},
	}
	for _, s := range steps {
		logs.TakeAll()
		l.update(s.issues)
		var got []string
		for _, e := range logs.TakeAll() {
			got = append(got, e.Message)
		}
		if len(got) != len(s.want) {
			t.Fatalf("%s: logged %v, want %v", s.desc, got, s.want)
		}
		for i := range got {
			if got[i] != s.want[i] {
				t.Fatalf("%s: logged %v, want %v", s.desc, got, s.want)
			}
		}
	}
}
