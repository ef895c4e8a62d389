// Package staticconf loads berth's static configuration from a file,
// environment variables and command-line flags, in Traefik's format, then
// fills Traefik's defaults and validates the result.
//
// Traefik reads its static configuration from exactly one source: the first
// of configuration file, flags and environment that is present. berth layers
// them instead — file, then environment (BERTH_* and TRAEFIK_*), then flags —
// so that a flag can override one setting of a file. A configuration that
// works in Traefik gives the same result in berth, since only one source is
// present there.
package staticconf

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/decode"
)

// envPrefixes are the prefixes of environment variables that configure
// berth; BERTH_ comes last so that it wins over TRAEFIK_ for the same key.
var envPrefixes = []string{"TRAEFIK_", "BERTH_"}

// configFileKey is the flag (and environment variable) naming the
// configuration file; it is not part of config.Static.
const configFileKey = "configFile"

// Load builds the static configuration from args (without the program
// name) and environ (as in os.Environ).
//
// The configuration file is the one named by --configFile (or
// TRAEFIK_CONFIGFILE / BERTH_CONFIGFILE); without one, traefik.{yml,yaml,toml}
// or berth.{yml,yaml,toml} is looked for where Traefik looks: /etc/traefik,
// $XDG_CONFIG_HOME, $HOME/.config and the working directory.
//
// The error is for what prevents loading at all: an argument that is not a
// flag, an unreadable file, a syntax error (with file:line:col). Everything
// else is an Issue that names its flag, variable or file position; the
// configuration is returned even when issues are fatal, so that every
// problem can be shown at once.
func Load(args []string, environ []string) (*config.Static, []config.Issue, error) {
	flags, err := decode.FromFlags(args)
	if err != nil {
		return nil, nil, err
	}
	env := decode.FromEnv(environ, reflect.TypeFor[config.Static](), envPrefixes...)

	file := ""
	for _, n := range []*decode.Node{flags, env} {
		if c := n.Remove(configFileKey); c != nil && file == "" {
			file = c.Value
		}
	}
	if file == "" {
		file = findConfigFile(environ)
	}
	var fileNode *decode.Node
	if file != "" {
		if fileNode, err = readFile(file); err != nil {
			return nil, nil, err
		}
	}

	l := &loader{cfg: &config.Static{}, pos: map[string]string{}}
	for _, n := range []*decode.Node{fileNode, env, flags} {
		l.decode(n)
	}
	l.setDefaults()
	l.validate()
	return l.cfg, l.issues, nil
}

func readFile(name string) (*decode.Node, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading the configuration file: %w", err)
	}
	if strings.EqualFold(filepath.Ext(name), ".toml") {
		return decode.FromTOML(name, data)
	}
	return decode.FromYAML(name, data)
}

// findConfigFile looks for a configuration file where Traefik does.
func findConfigFile(environ []string) string {
	getenv := func(k string) string {
		for _, kv := range environ {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				return v
			}
		}
		return ""
	}
	dirs := []string{"/etc/traefik", "/etc/berth"}
	if x := getenv("XDG_CONFIG_HOME"); x != "" {
		dirs = append(dirs, x)
	}
	if h := getenv("HOME"); h != "" {
		dirs = append(dirs, filepath.Join(h, ".config"))
	}
	dirs = append(dirs, ".")
	for _, dir := range dirs {
		for _, base := range []string{"traefik", "berth"} {
			for _, ext := range []string{".yml", ".yaml", ".toml"} {
				p := filepath.Join(dir, base+ext)
				if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
					return p
				}
			}
		}
	}
	return ""
}

// loader holds the configuration being built, where each setting came
// from and the issues found.
type loader struct {
	cfg *config.Static
	// pos maps a lower-cased key path to where it was last set.
	pos    map[string]string
	issues []config.Issue
}

// decode layers one source onto the configuration.
func (l *loader) decode(n *decode.Node) {
	if n == nil {
		return
	}
	trace := decode.WithTrace(func(path string, n *decode.Node) { l.pos[strings.ToLower(path)] = n.Pos })
	for _, e := range decode.Decode(n, l.cfg, trace) {
		l.issues = append(l.issues, issueFor(e))
	}
}

// source is where the setting at path (any case) came from, or "default".
// A list item without a position of its own ("trustedIPs[1]") has that of
// its list.
func (l *loader) source(path string) string {
	path = strings.ToLower(path)
	for {
		if p, ok := l.pos[path]; ok {
			return p
		}
		i := strings.LastIndexByte(path, '[')
		if i < 0 || !strings.HasSuffix(path, "]") {
			return "default"
		}
		path = path[:i]
	}
}

func (l *loader) fatal(path, value, format string, args ...any) {
	l.issues = append(l.issues, config.Issue{
		Source: l.source(path), Kind: "static", Key: path, Value: value,
		Msg: fmt.Sprintf(format, args...), Fatal: true,
	})
}
