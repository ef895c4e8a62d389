package docker

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/berthproxy/berth/pkg/config"
)

// composeFile is the part of a compose file that labels live in.
type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	ContainerName string    `yaml:"container_name"`
	Labels        yaml.Node `yaml:"labels"`
}

// LintCompose decodes the berth and Traefik labels of every service in a
// compose file as the provider would decode them on running containers,
// and returns the provider's snapshot with every problem found, for
// `berth check --compose`. Containers are named as compose names them
// ("<project>-<service>-1"); addresses are placeholders, since nothing
// runs. Services without any berth or Traefik label are skipped.
//
// Labels are interpolated as docker-compose does (see interpolate.go),
// with variables from the environment and, below it, from the .env file
// next to the compose file.
func LintCompose(filename string, data []byte, opts config.DockerProvider) (config.Snapshot, error) {
	dotEnv, err := readDotEnv(filepath.Join(filepath.Dir(filename), ".env"))
	if err != nil {
		return config.Snapshot{}, err
	}
	lookup := func(name string) (string, bool) {
		if v, ok := os.LookupEnv(name); ok {
			return v, true
		}
		v, ok := dotEnv[name]
		return v, ok
	}
	return lintCompose(filename, data, opts, lookup)
}

// lintCompose is LintCompose with the variables given by lookup.
func lintCompose(filename string, data []byte, opts config.DockerProvider, lookup func(string) (string, bool)) (config.Snapshot, error) {
	var f composeFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return config.Snapshot{}, fmt.Errorf("%s: %v", filename, err)
	}
	o, err := parseOptions(opts)
	if err != nil {
		return config.Snapshot{}, err
	}
	o.lint = true
	project := f.Name
	if project == "" {
		abs, _ := filepath.Abs(filename)
		project = strings.ToLower(filepath.Base(filepath.Dir(abs)))
	}
	names := make([]string, 0, len(f.Services))
	for n := range f.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	var ds []*decoded
	var issues []config.Issue
	for _, n := range names {
		svc := f.Services[n]
		labels, more, err := composeLabels(filename, n, &svc.Labels, lookup)
		issues = append(issues, more...)
		if err != nil {
			issues = append(issues, config.Issue{Source: fmt.Sprintf("%s:%d:%d", filename, svc.Labels.Line, svc.Labels.Column),
				Provider: ProviderName, Kind: "label", Msg: fmt.Sprintf("service %q: %v", n, err), Fatal: true})
			continue
		}
		if !hasProviderLabel(labels) {
			continue
		}
		labels[labelComposeService], labels[labelComposeProject] = n, project
		name := svc.ContainerName
		if name == "" {
			name = project + "-" + n + "-1"
		}
		c := &containerInfo{ID: name, Name: name, Running: true, Labels: labels}
		ds = append(ds, decodeContainer(c, o))
	}
	cfg, more := mergeContainers(ds)
	return config.Snapshot{Provider: ProviderName, Config: cfg, Issues: append(issues, more...)}, nil
}

// composeLabels reads `labels:` written as a list of "key=value" or as a
// map, interpolated as compose does. A label that cannot be interpolated is
// left out with a fatal issue; one that uses a variable that is not set is
// kept, as compose keeps it, with a warning.
func composeLabels(filename, service string, n *yaml.Node, lookup func(string) (string, bool)) (map[string]string, []config.Issue, error) {
	out := map[string]string{}
	var issues []config.Issue
	expand := func(at *yaml.Node, s string) (string, bool) {
		src := fmt.Sprintf("%s:%d:%d", filename, at.Line, at.Column)
		res, err := interpolate(s, lookup)
		if err != nil {
			issues = append(issues, config.Issue{Source: src, Provider: ProviderName, Kind: "label",
				Msg: fmt.Sprintf("service %q: %v", service, err), Fatal: true})
			return "", false
		}
		if len(res.unset) > 0 {
			vars := make([]string, len(res.unset))
			for i, name := range res.unset {
				vars[i] = `"$` + name + `"`
			}
			issues = append(issues, config.Issue{Source: src, Provider: ProviderName, Kind: "label",
				Msg: fmt.Sprintf("service %q: %s: no such variable is set, so docker-compose replaces it with \"\"; "+
					"write \"$$\" for a literal \"$\" (as in a password hash)", service, strings.Join(vars, ", "))})
		}
		return res.value, true
	}
	switch n.Kind {
	case 0:
		return out, nil, nil
	case yaml.SequenceNode:
		for _, it := range n.Content {
			if it.Kind != yaml.ScalarNode {
				return nil, issues, fmt.Errorf("line %d: want a label \"key=value\"", it.Line)
			}
			if v, ok := expand(it, it.Value); ok {
				k, v, _ := strings.Cut(v, "=")
				out[k] = v
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, okk := expand(n.Content[i], n.Content[i].Value)
			v, okv := expand(n.Content[i+1], n.Content[i+1].Value)
			if okk && okv {
				out[k] = v
			}
		}
	default:
		return nil, nil, fmt.Errorf("labels must be a list of \"key=value\" or a map")
	}
	return out, issues, nil
}

func hasProviderLabel(labels map[string]string) bool {
	for k := range labels {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, prefixTraefik) || strings.HasPrefix(lk, prefixBerth) {
			return true
		}
	}
	return false
}
