package docker

import (
	"strings"
	"testing"
)

func TestDefaultRuleTemplate(t *testing.T) {
	m := ruleModel{Name: "web-shop", ContainerName: "shop_web_1", Labels: map[string]string{"domain": "example.com"}}
	tests := []struct {
		desc    string
		tmpl    string
		want    string
		wantErr string
	}{
		{desc: "traefik default", tmpl: "Host(`{{ normalize .Name }}`)", want: "Host(`web-shop`)"},
		{desc: "container name normalised", tmpl: "Host(`{{ normalize .ContainerName }}.localhost`)", want: "Host(`shop-web-1.localhost`)"},
		{desc: "label", tmpl: "Host(`{{ .Name }}.{{ index .Labels \"domain\" }}`)", want: "Host(`web-shop.example.com`)"},
		{desc: "missing label is empty", tmpl: "Host(`{{ .Name }}{{ index .Labels \"nope\" }}`)", want: "Host(`web-shop`)"},
		{desc: "helpers", tmpl: "Host(`{{ upper .Name | lower | replace \"-\" \".\" }}`)", want: "Host(`web.shop`)"},
		{desc: "syntax error", tmpl: "Host(`{{ .Name `)", wantErr: "defaultRule"},
		{desc: "unknown function", tmpl: "{{ nope .Name }}", wantErr: `function "nope" not defined`},
	}
	for _, test := range tests {
		t.Run(test.desc, func(t *testing.T) {
			rt, err := parseRuleTemplate(test.tmpl)
			var got string
			if err == nil {
				got, err = rt.execute(m)
			}
			if test.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), test.wantErr) {
					t.Fatalf("error %v, want %q", err, test.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != test.want {
				t.Errorf("got %q, want %q", got, test.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	for _, test := range []struct{ desc, in, want string }{
		{desc: "compose", in: "web_shop", want: "web-shop"},
		{desc: "leading slash and dots", in: "/my.app", want: "my-app"},
		{desc: "runs collapse", in: "a__b--c", want: "a-b-c"},
		{desc: "unicode letters kept", in: "café_1", want: "café-1"},
	} {
		t.Run(test.desc, func(t *testing.T) {
			if got := normalize(test.in); got != test.want {
				t.Errorf("normalize(%q) = %q, want %q", test.in, got, test.want)
			}
		})
	}
}
