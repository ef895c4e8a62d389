package rules

import (
	"errors"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		desc string
		rule string
	}{
		{desc: "host", rule: "Host(`example.com`)"},
		{desc: "double-quoted argument", rule: `Host("example.com")`},
		{desc: "escaped quote in double-quoted argument", rule: `Header("X", "a\"b")`},
		{desc: "whitespace everywhere", rule: " \t Host ( `a` ) \n&&\n ! ( Path ( `/` ) ) "},
		{desc: "no whitespace", rule: "Host(`a`)&&!Path(`/`)||Method(`GET`)"},
		{desc: "every matcher", rule: "Host(`a`) && HostRegexp(`^a$`) && Path(`/`) && PathPrefix(`/`) && PathRegexp(`^/$`) && " +
			"Method(`GET`) && Header(`X`, `1`) && HeaderRegexp(`X`, `^1$`) && Query(`q`) && Query(`q`, `1`) && " +
			"QueryRegexp(`q`, `^1$`) && ClientIP(`10.0.0.0/8`) && ClientIP(`::1`)"},
		{desc: "double negation", rule: "!!Host(`a`)"},
		{desc: "nested parentheses", rule: "((Host(`a`)))"},
		{desc: "wildcard host", rule: "Host(`*.example.com`)"},
		{desc: "ipv6 host", rule: "Host(`[::1]`)"},
		{desc: "empty backtick value", rule: "Header(`X`, ``)"},
		{desc: "unicode in header value", rule: "Header(`X`, `ü`)"},
		{desc: "deep but allowed nesting", rule: strings.Repeat("(", maxDepth) + "Host(`a`)" + strings.Repeat(")", maxDepth)},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			r, err := Parse(tt.rule)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.rule, err)
			}
			if got := r.String(); got != tt.rule {
				t.Errorf("String() = %q, want %q", got, tt.rule)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		desc string
		rule string
		want string // the complete Error() text
		col  int
	}{
		{desc: "empty", rule: "", want: "empty rule", col: 0},
		{desc: "blank", rule: " \t\n", want: "empty rule", col: 0},
		{desc: "stray closing parenthesis after operator", rule: "PathPrefix(`/api`) || )",
			want: `unexpected ")" at column 23`, col: 23},
		{desc: "extra closing parenthesis", rule: "Host(`example.com`))",
			want: `unexpected ")" at column 20; it has no matching "("`, col: 20},
		{desc: "unterminated backtick string", rule: "Host(`abc",
			want: "unterminated string starting at column 6", col: 6},
		{desc: "unterminated double-quoted string", rule: `Host("abc\")`,
			want: "unterminated string starting at column 6", col: 6},
		{desc: "missing open parenthesis", rule: "Host`a`",
			want: `expected "(" after Host at column 5`, col: 5},
		{desc: "missing open parenthesis at end", rule: "Path",
			want: `expected "(" after Path at column 5`, col: 5},
		{desc: "v2 multi-host", rule: "Host(`a`, `b`)",
			want: "Host takes 1 argument, got 2 at column 1; write Host(`a`) || Host(`b`) to match any of them (Traefik v3 syntax)", col: 1},
		{desc: "no arguments", rule: "Host()",
			want: "Host takes 1 argument, got 0 at column 1", col: 1},
		{desc: "header needs two", rule: "Header(`X`)",
			want: "Header takes 2 arguments, got 1 at column 1", col: 1},
		{desc: "query takes at most two", rule: "Path(`/`) && Query(`a`,`b`,`c`)",
			want: "Query takes 1 or 2 arguments, got 3 at column 14", col: 14},
		{desc: "relative path prefix", rule: "PathPrefix(`api`)",
			want: `PathPrefix: "api" must start with "/" at column 12`, col: 12},
		{desc: "relative path", rule: `Path("x")`,
			want: `Path: "x" must start with "/" at column 6`, col: 6},
		{desc: "bad host regexp", rule: "HostRegexp(`(`)",
			want: `HostRegexp: invalid regexp "(": missing closing ) at column 12`, col: 12},
		{desc: "bad header regexp in second argument", rule: "HeaderRegexp(`X`, `[`)",
			want: `HeaderRegexp: invalid regexp "[": missing closing ] at column 19`, col: 19},
		{desc: "bad path regexp names the sub-expression", rule: "PathRegexp(`/a\\q`)",
			want: `PathRegexp: invalid regexp "/a\\q": invalid escape sequence in "\\q" at column 12`, col: 12},
		{desc: "bad query regexp", rule: "QueryRegexp(`q`, `*`)",
			want: `QueryRegexp: invalid regexp "*": missing argument to repetition operator at column 18`, col: 18},
		{desc: "matcher typo", rule: "Hots(`a`)",
			want: `unknown matcher "Hots" at column 1; did you mean "Host"?`, col: 1},
		{desc: "matcher wrong case", rule: "Path(`/`) || pathprefix(`/a`)",
			want: `unknown matcher "pathprefix" at column 14; did you mean "PathPrefix"?`, col: 14},
		{desc: "v2 Headers", rule: "Headers(`X`, `1`)",
			want: `unknown matcher "Headers" at column 1; did you mean "Header"?`, col: 1},
		{desc: "HostHeader", rule: "HostHeader(`a`)",
			want: `unknown matcher "HostHeader" at column 1; did you mean "Host"?`, col: 1},
		{desc: "unknown matcher without suggestion", rule: "Foo(`a`)",
			want: `unknown matcher "Foo" at column 1`, col: 1},
		{desc: "single ampersand", rule: "Host(`a`) & Path(`/`)",
			want: `unexpected "&" at column 11; did you mean "&&"?`, col: 11},
		{desc: "single bar", rule: "Host(`a`)|Path(`/`)",
			want: `unexpected "|" at column 10; did you mean "||"?`, col: 10},
		{desc: "missing operator", rule: "Host(`a`) Path(`/`)",
			want: `unexpected "Path" at column 11; join matchers with "&&" or "||"`, col: 11},
		{desc: "unclosed group", rule: "(Host(`a`)",
			want: `unexpected end of rule at column 11; missing ")" to close "(" at column 1`, col: 11},
		{desc: "junk in group", rule: "(Host(`a`) Path(`/`))",
			want: `unexpected "Path" at column 12; expected "&&", "||" or ")"`, col: 12},
		{desc: "dangling operator", rule: "Host(`a`) &&",
			want: "unexpected end of rule at column 13; expected a matcher such as Host(`example.com`)", col: 13},
		{desc: "doubled operator", rule: "Host(`a`) || || Path(`/`)",
			want: `unexpected "||" at column 14`, col: 14},
		{desc: "lone not", rule: "!",
			want: "unexpected end of rule at column 2; expected a matcher such as Host(`example.com`)", col: 2},
		{desc: "unquoted argument", rule: "Host(a)",
			want: "expected a quoted string argument, got \"a\" at column 6; quote it as `a`", col: 6},
		{desc: "trailing comma", rule: "Path(`/`,)",
			want: `expected a quoted string argument, got ")" at column 10`, col: 10},
		{desc: "single quotes", rule: "Host('a')",
			want: `unexpected character "'" at column 6; quote strings with backticks or double quotes`, col: 6},
		{desc: "unclosed argument list", rule: "Host(`a`",
			want: `unexpected end of rule at column 9; missing ")" to close "(" at column 5`, col: 9},
		{desc: "missing comma", rule: "Header(`X` `1`)",
			want: "unexpected string `1` at column 12; expected \",\" or \")\" after an argument", col: 12},
		{desc: "bare string", rule: "`a`",
			want: "unexpected string `a` at column 1; a string must be the argument of a matcher", col: 1},
		{desc: "bad escape", rule: `Host("a\q")`,
			want: `invalid double-quoted string "a\q" at column 6`, col: 6},
		{desc: "bad character", rule: "Host(`a`) @",
			want: `unexpected character "@" at column 11`, col: 11},
		{desc: "columns count runes", rule: "Header(`ü`, `ö`) )",
			want: `unexpected ")" at column 18; it has no matching "("`, col: 18},
		{desc: "bad client IP", rule: "ClientIP(`10.0.0.300`)",
			want: "ClientIP: invalid IP \"10.0.0.300\" at column 10; write an IP address such as `10.0.0.1` or a CIDR such as `10.0.0.0/8`", col: 10},
		{desc: "bad client CIDR", rule: "ClientIP(`10.0.0.0/33`)",
			want: `ClientIP: invalid CIDR "10.0.0.0/33" at column 10`, col: 10},
		{desc: "wildcard inside host", rule: "Host(`a.*.com`)",
			want: "Host: invalid wildcard \"a.*.com\" at column 6; only a whole first label may be a wildcard, as in `*.example.com`; use HostRegexp for other patterns", col: 6},
		{desc: "bare wildcard", rule: "Host(`*`)",
			want: "Host: invalid wildcard \"*\" at column 6; only a whole first label may be a wildcard, as in `*.example.com`; use HostRegexp for other patterns", col: 6},
		{desc: "non-ASCII host", rule: "Host(`bücher.de`)",
			want: `Host: "bücher.de" contains non-ASCII characters at column 6; write internationalized names in punycode (xn--...)`, col: 6},
		{desc: "host with port", rule: "Host(`example.com:8080`)",
			want: `Host: "example.com:8080" must not include a port at column 6; the port is ignored when matching`, col: 6},
		{desc: "ipv6 host with port", rule: "Host(`[::1]:80`)",
			want: `Host: "[::1]:80" must not include a port at column 6; the port is ignored when matching`, col: 6},
		{desc: "unclosed ipv6 bracket", rule: "Host(`[::1`)",
			want: `Host: unclosed "[" in "[::1" at column 6`, col: 6},
		{desc: "empty host", rule: "Host(``)",
			want: "Host: empty host name at column 6", col: 6},
		{desc: "empty method", rule: "Method(``)",
			want: "Method: empty method at column 8", col: 8},
		{desc: "empty header name", rule: "Header(``, `1`)",
			want: "Header: empty header name at column 8", col: 8},
		{desc: "empty query key", rule: "Query(``)",
			want: "Query: empty parameter name at column 7", col: 7},
		{desc: "too deep", rule: strings.Repeat("(", maxDepth+1) + "Host(`a`)" + strings.Repeat(")", maxDepth+1),
			want: "rule nested too deeply at column 201", col: maxDepth + 1},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			r, err := Parse(tt.rule)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error %q", tt.rule, r, tt.want)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %T, want *SyntaxError", tt.rule, err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Parse(%q) error\n got: %s\nwant: %s", tt.rule, got, tt.want)
			}
			if se.Col != tt.col {
				t.Errorf("Parse(%q) error column = %d, want %d", tt.rule, se.Col, tt.col)
			}
		})
	}
}

func TestDefaultPriority(t *testing.T) {
	tests := []struct {
		desc string
		rule string
		want int
	}{
		{desc: "empty", rule: "", want: 0},
		{desc: "host", rule: "Host(`example.com`)", want: 19},
		{desc: "counts bytes like Traefik", rule: "Host(`ü`)", want: 10},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := DefaultPriority(tt.rule); got != tt.want {
				t.Errorf("DefaultPriority(%q) = %d, want %d", tt.rule, got, tt.want)
			}
		})
	}
}
