package docker

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// docker-compose interpolates variables in a compose file before Docker
// ever sees a label: "$$" becomes "$", and "$VAR" or "${VAR}" become the
// variable's value from the environment or the project's .env file. A
// linter that read the labels raw would see "$$apr1$$..." where the
// container gets "$apr1$...", and would miss the classic mistake of a
// bcrypt or apr1 hash written with single "$" signs, which compose turns
// into an empty string and a broken password. So `berth check --compose`
// interpolates as compose does, and reports variables that are not set.

// interpolation is the result of interpolating one string.
type interpolation struct {
	value string
	// unset names the variables that were referenced without a default
	// and are not set; compose substitutes "" for them (with a warning).
	unset []string
}

// interpolate expands s as compose does. lookup returns a variable's value
// and whether it is set. The forms are those of the compose specification:
// $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
// ${VAR?error}, ${VAR:+alternative} and ${VAR+alternative}; defaults and
// alternatives are interpolated in turn.
func interpolate(s string, lookup func(string) (string, bool)) (interpolation, error) {
	var res interpolation
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 == len(s) {
			return res, fmt.Errorf("invalid template %q: a lone \"$\" at the end; write \"$$\" for a literal \"$\"", s)
		}
		switch next := s[i+1]; {
		case next == '$':
			b.WriteByte('$')
			i += 2
		case next == '{':
			end := closingBrace(s, i+2)
			if end < 0 {
				return res, fmt.Errorf("invalid template %q: \"${\" without its \"}\"", s)
			}
			v, err := expandBraced(s[i+2:end], lookup, &res)
			if err != nil {
				return res, err
			}
			b.WriteString(v)
			i = end + 1
		case isNameStart(next):
			j := i + 1
			for j < len(s) && isNameChar(s[j]) {
				j++
			}
			name := s[i+1 : j]
			v, ok := lookup(name)
			if !ok {
				res.unset = append(res.unset, name)
			}
			b.WriteString(v)
			i = j
		default:
			return res, fmt.Errorf("invalid template %q: \"$%c\" is not a variable; write \"$$\" for a literal \"$\"", s, next)
		}
	}
	res.value = b.String()
	return res, nil
}

// closingBrace returns the index of the "}" that closes a "${" whose body
// starts at from, allowing nested "${...}" in defaults; -1 if none.
func closingBrace(s string, from int) int {
	depth := 0
	for i := from; i < len(s); i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
			i++
		case s[i] == '}':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}

// expandBraced expands the body of ${...}.
func expandBraced(body string, lookup func(string) (string, bool), res *interpolation) (string, error) {
	j := 0
	for j < len(body) && isNameChar(body[j]) {
		j++
	}
	name, rest := body[:j], body[j:]
	if name == "" || !isNameStart(name[0]) {
		return "", fmt.Errorf("invalid template \"${%s}\": %q is not a variable name", body, name)
	}
	val, set := lookup(name)
	if rest == "" {
		if !set {
			res.unset = append(res.unset, name)
		}
		return val, nil
	}
	op, arg := rest[:1], rest[1:]
	if strings.HasPrefix(rest, ":") && len(rest) > 1 {
		op, arg = rest[:2], rest[2:]
	}
	sub := func() (string, error) {
		r, err := interpolate(arg, lookup)
		res.unset = append(res.unset, r.unset...)
		return r.value, err
	}
	switch op {
	case ":-":
		if !set || val == "" {
			return sub()
		}
	case "-":
		if !set {
			return sub()
		}
	case ":+":
		if set && val != "" {
			return sub()
		}
		return "", nil
	case "+":
		if set {
			return sub()
		}
		return "", nil
	case ":?", "?":
		if !set || (op == ":?" && val == "") {
			msg, err := sub()
			if err != nil {
				return "", err
			}
			return "", fmt.Errorf("required variable %s is missing a value: %s", name, msg)
		}
	default:
		return "", fmt.Errorf("invalid template \"${%s}\": unknown operator %q after %s", body, rest, name)
	}
	return val, nil
}

func isNameStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isNameChar(c byte) bool { return isNameStart(c) || '0' <= c && c <= '9' }

// readDotEnv reads a compose .env file: KEY=VALUE lines, blank lines and
// "#" comments ignored, an optional "export " prefix, and values
// optionally in single quotes (taken literally) or double quotes.
// A missing file is no error: most projects have none.
func readDotEnv(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%s:%d: want KEY=VALUE", path, n)
		}
		v = strings.TrimSpace(v)
		switch {
		case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'':
			v = v[1 : len(v)-1]
		case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"':
			v = strings.NewReplacer(`\n`, "\n", `\"`, `"`, `\\`, `\`).Replace(v[1 : len(v)-1])
		default:
			if i := strings.Index(v, " #"); i >= 0 {
				v = strings.TrimSpace(v[:i])
			}
		}
		out[k] = v
	}
	return out, sc.Err()
}
