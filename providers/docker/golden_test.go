package docker

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/test/golden"

	_ "github.com/berthproxy/berth/middlewares" // registers every middleware
)

// TestLabelsGolden decodes the containers described by each
// testdata/labels/*.txt and compares the provider's snapshot (as JSON) and
// its issues ("err: " fatal, "warn: " not) with the expected output after
// the separator line.
//
// The input is a list of containers, each started by a header line
// "# container: NAME", followed by optional header lines and then labels,
// one "key=value" per line:
//
//	# compose: SERVICE PROJECT    compose service and project labels
//	# network: NAME=IP            a network the container is on (repeatable)
//	# ports: 80/tcp 443/tcp       exposed ports
//	# health: starting            HEALTHCHECK status
//	# mode: host                  network mode
//
// Lines "# option: key=value" before the first container set provider
// options: exposedByDefault, network, defaultRule, constraints.
func TestLabelsGolden(t *testing.T) {
	golden.Run(t, "testdata/labels/*.txt", func(t *testing.T, input string) string {
		got, err := runGolden(input)
		if err != nil {
			t.Fatal(err)
		}
		return got
	})
}

// runGolden decodes a golden input and renders the result.
func runGolden(input string) (string, error) {
	opts := config.DockerProvider{}
	opts.SetDefaults()
	var cs []*containerInfo
	var cur *containerInfo
	for i, line := range strings.Split(input, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if h, ok := strings.CutPrefix(line, "# "); ok {
			k, v, _ := strings.Cut(h, ":")
			v = strings.TrimSpace(v)
			if k == "container" {
				cur = &containerInfo{ID: fmt.Sprintf("id%02d", len(cs)), Name: v, Running: true, Labels: map[string]string{},
					Networks: map[string]networkInfo{}, NetworkMode: "bridge"}
				cs = append(cs, cur)
				continue
			}
			if k == "option" {
				ok, ov, _ := strings.Cut(v, "=")
				switch ok {
				case "exposedByDefault":
					opts.ExposedByDefault, _ = strconv.ParseBool(ov)
				case "network":
					opts.Network = ov
				case "defaultRule":
					opts.DefaultRule = ov
				case "constraints":
					opts.Constraints = ov
				default:
					return "", fmt.Errorf("line %d: unknown option %q", i+1, ok)
				}
				continue
			}
			if cur == nil {
				return "", fmt.Errorf("line %d: %q before any \"# container:\" line", i+1, line)
			}
			switch k {
			case "compose":
				f := strings.Fields(v)
				if len(f) != 2 {
					return "", fmt.Errorf("line %d: want \"# compose: SERVICE PROJECT\"", i+1)
				}
				cur.Labels[labelComposeService], cur.Labels[labelComposeProject] = f[0], f[1]
			case "network":
				n, ip, _ := strings.Cut(v, "=")
				cur.Networks[n] = networkInfo{ID: "net-" + n, IP: ip}
			case "ports":
				for _, p := range strings.Fields(v) {
					num, proto, _ := strings.Cut(p, "/")
					n, _ := strconv.Atoi(num)
					cur.addPort(n, proto, "", 0)
				}
			case "health":
				cur.Health = v
			case "mode":
				cur.NetworkMode = v
			default:
				return "", fmt.Errorf("line %d: unknown header %q", i+1, k)
			}
			continue
		}
		if cur == nil {
			return "", fmt.Errorf("line %d: label before any \"# container:\" line", i+1)
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return "", fmt.Errorf("line %d: want key=value", i+1)
		}
		cur.Labels[k] = v
	}
	for i, c := range cs {
		if len(c.Networks) == 0 && c.NetworkMode == "bridge" {
			c.Networks["bridge"] = networkInfo{ID: "net-bridge", IP: "172.17.0." + strconv.Itoa(2+i)}
		}
	}
	o, err := parseOptions(opts)
	if err != nil {
		return "err: " + err.Error() + "\n", nil
	}
	var ds []*decoded
	for _, c := range cs {
		ds = append(ds, decodeContainer(c, o))
	}
	cfg, issues := mergeContainers(ds)
	js, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Write(js)
	b.WriteString("\n")
	for _, is := range issues {
		if is.Fatal {
			b.WriteString("err: " + is.Error() + "\n")
		} else {
			b.WriteString("warn: " + is.Error() + "\n")
		}
	}
	return b.String(), nil
}
