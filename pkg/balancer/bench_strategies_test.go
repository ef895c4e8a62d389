package balancer

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkStrategies measures one Pick plus its Release per strategy over
// ten servers, the per-request cost a strategy adds.
func BenchmarkStrategies(b *testing.B) {
	cases := []struct {
		desc string
		cfg  Config
	}{
		{desc: "wrr", cfg: Config{Strategy: "wrr"}},
		{desc: "leastconn", cfg: Config{Strategy: "leastconn"}},
		{desc: "p2c", cfg: Config{Strategy: "p2c"}},
		{desc: "random", cfg: Config{Strategy: "random"}},
		{desc: "hash clientip", cfg: Config{Strategy: "hash"}},
		{desc: "hash header bounded", cfg: Config{Strategy: "hash", Options: Options{Hash: HashOptions{Key: "header:X-User", BoundedLoad: 1.25}}}},
		{desc: "wrr sticky with cookie", cfg: Config{Strategy: "wrr", Sticky: &StickyConfig{Service: "s"}}},
	}
	for _, c := range cases {
		srv := named(10)
		p, err := New(srv, c.cfg)
		if err != nil {
			b.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
		r.RemoteAddr = "192.0.2.1:4321"
		r.Header.Set("X-User", "alice")
		if c.cfg.Sticky != nil {
			res, _ := p.Pick(r)
			res.Server.Release()
			r.Header.Set("Cookie", "other=1; "+res.SetCookie.Name+"="+res.SetCookie.Value)
		}
		b.Run(c.desc, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, err := p.Pick(r)
				if err != nil {
					b.Fatal(err)
				}
				res.Server.Release()
			}
		})
		b.Run(c.desc+" parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					res, err := p.Pick(r)
					if err != nil {
						b.Error(err)
						return
					}
					res.Server.Release()
				}
			})
		})
	}
}
