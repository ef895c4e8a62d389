package docker

import (
	"fmt"
	"strings"
	"text/template"
)

// ruleModel is what a defaultRule template sees, as in Traefik: .Name is
// the default service name, .ContainerName the container's name and .Labels
// all of its labels.
type ruleModel struct {
	Name          string
	ContainerName string
	Labels        map[string]string
}

// templateFuncs are the functions a defaultRule may call: Traefik's
// normalize and the few string helpers that rules use in practice.
var templateFuncs = template.FuncMap{
	"normalize":  normalize,
	"lower":      strings.ToLower,
	"upper":      strings.ToUpper,
	"trimPrefix": func(prefix, s string) string { return strings.TrimPrefix(s, prefix) },
	"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
	"replace":    func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
	"default": func(def string, v any) string {
		if s, ok := v.(string); ok && s != "" {
			return s
		}
		return def
	},
}

// ruleTemplate is a parsed defaultRule.
type ruleTemplate struct {
	src string
	t   *template.Template
}

// parseRuleTemplate parses a defaultRule once, when the provider starts, so
// that a broken template is reported before any container is looked at.
func parseRuleTemplate(src string) (*ruleTemplate, error) {
	t, err := template.New("defaultRule").Funcs(templateFuncs).Option("missingkey=zero").Parse(src)
	if err != nil {
		return nil, fmt.Errorf("defaultRule %q: %v", src, err)
	}
	return &ruleTemplate{src: src, t: t}, nil
}

// execute renders the rule for one container.
func (r *ruleTemplate) execute(m ruleModel) (string, error) {
	var b strings.Builder
	if err := r.t.Execute(&b, m); err != nil {
		return "", fmt.Errorf("defaultRule %q: %v", r.src, err)
	}
	return strings.TrimSpace(b.String()), nil
}
