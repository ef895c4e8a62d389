package docker

import (
	"fmt"
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
func LintCompose(filename string, data []byte, opts config.DockerProvider) (config.Snapshot, error) {
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
		labels, err := composeLabels(&svc.Labels)
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
// map.
func composeLabels(n *yaml.Node) (map[string]string, error) {
	out := map[string]string{}
	switch n.Kind {
	case 0:
		return out, nil
	case yaml.SequenceNode:
		for _, it := range n.Content {
			if it.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: want a label \"key=value\"", it.Line)
			}
			k, v, _ := strings.Cut(it.Value, "=")
			out[k] = v
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			out[n.Content[i].Value] = n.Content[i+1].Value
		}
	default:
		return nil, fmt.Errorf("labels must be a list of \"key=value\" or a map")
	}
	return out, nil
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
