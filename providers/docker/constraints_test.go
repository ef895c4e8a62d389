package docker

import (
	"strings"
	"testing"
)

func TestConstraints(t *testing.T) {
	labels := map[string]string{"com.example.team": "shop", "env": "prod-eu", "traefik.enable": "true"}
	tests := []struct {
		desc    string
		expr    string
		want    bool
		wantErr string
	}{
		{desc: "empty matches everything", expr: "", want: true},
		{desc: "label equal", expr: "Label(`env`, `prod-eu`)", want: true},
		{desc: "label differs", expr: "Label(`env`, `prod`)", want: false},
		{desc: "missing label", expr: "Label(`nope`, ``)", want: false},
		{desc: "key ignores case", expr: "Label(`ENV`, `prod-eu`)", want: true},
		{desc: "double quotes", expr: `Label("env", "prod-eu")`, want: true},
		{desc: "regex is anchored", expr: "LabelRegex(`env`, `prod-.+`)", want: true},
		{desc: "regex anchored fails on part", expr: "LabelRegex(`env`, `prod`)", want: false},
		{desc: "not", expr: "!Label(`env`, `dev`)", want: true},
		{desc: "and", expr: "Label(`env`, `prod-eu`) && Label(`com.example.team`, `shop`)", want: true},
		{desc: "or binds looser than and", expr: "Label(`env`, `x`) && Label(`env`, `y`) || Label(`env`, `prod-eu`)", want: true},
		{desc: "parentheses", expr: "Label(`env`, `x`) && (Label(`env`, `y`) || Label(`env`, `prod-eu`))", want: false},
		{desc: "double negation", expr: "!!Label(`env`, `prod-eu`)", want: true},
		{desc: "unknown function", expr: "Lable(`env`, `x`)", wantErr: `unknown function "Lable" at column 1`},
		{desc: "tag is not docker", expr: "Tag(`x`)", wantErr: "Tag is for Consul"},
		{desc: "missing paren", expr: "(Label(`a`, `b`)", wantErr: "unexpected end of expression at column 17"},
		{desc: "extra paren", expr: "Label(`a`, `b`))", wantErr: `unexpected ")" at column 16`},
		{desc: "one argument", expr: "Label(`a`)", wantErr: "takes 2 arguments"},
		{desc: "unterminated", expr: "Label(`a`, `b)", wantErr: "unterminated string starting at column 12"},
		{desc: "bad operator", expr: "Label(`a`, `b`) & Label(`c`, `d`)", wantErr: `unexpected "&" at column 17`},
		{desc: "bad regex", expr: "LabelRegex(`a`, `(`)", wantErr: "invalid regular expression"},
		{desc: "dangling and", expr: "Label(`a`, `b`) &&", wantErr: "unexpected end of expression at column 19"},
	}
	for _, test := range tests {
		t.Run(test.desc, func(t *testing.T) {
			c, err := parseConstraints(test.expr)
			if test.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), test.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, test.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := c == nil || c.match(labels)
			if got != test.want {
				t.Errorf("match = %v, want %v", got, test.want)
			}
		})
	}
}
