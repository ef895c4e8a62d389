package dynamic

import "testing"

// TestSources checks that every decoded object records where it was
// defined, since golden files do not show sources (they are not in JSON).
func TestSources(t *testing.T) {
	tests := []struct {
		desc, file, data string
		want             map[string]string
	}{
		{
			desc: "YAML",
			file: "d.yml",
			data: "http:\n  routers:\n    r:\n      rule: x\n  services:\n    s:\n      loadBalancer: {}\n  middlewares:\n    m:\n      addPrefix:\n        prefix: /a\ntls:\n  certificates:\n    - certFile: a\n      keyFile: b\n",
			want: map[string]string{"router": "d.yml:3:5", "service": "d.yml:6:5", "middleware": "d.yml:9:5", "certificate": "d.yml:14:7"},
		},
		{
			desc: "TOML",
			file: "d.toml",
			data: "[http.routers.r]\nrule = \"x\"\n[http.services.s.loadBalancer]\n[http.middlewares.m.addPrefix]\nprefix = \"/a\"\n[[tls.certificates]]\ncertFile = \"a\"\nkeyFile = \"b\"\n",
			want: map[string]string{"router": "d.toml:1:15", "service": "d.toml:3:16", "middleware": "d.toml:4:19", "certificate": "d.toml:6:7"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			cfg, issues := DecodeFile(tt.file, []byte(tt.data))
			if len(issues) > 0 {
				t.Fatalf("issues: %v", issues)
			}
			got := map[string]string{
				"router":      cfg.HTTP.Routers["r"].Source,
				"service":     cfg.HTTP.Services["s"].Source,
				"middleware":  cfg.HTTP.Middlewares["m"].Source,
				"certificate": cfg.TLS.Certificates[0].Source,
			}
			for k, want := range tt.want {
				if got[k] != want {
					t.Errorf("%s source = %q, want %q", k, got[k], want)
				}
			}
		})
	}
}
