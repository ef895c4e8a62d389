package rules

import (
	"strconv"
	"strings"

	"github.com/berthproxy/berth/pkg/didyoumean"
)

// SyntaxError describes why a rule could not be compiled and where.
type SyntaxError struct {
	// Col is the 1-based column, counted in runes, of the offending text.
	// It is 0 when the error concerns the rule as a whole (an empty rule).
	Col int
	// Msg says what is wrong, without the position.
	Msg string
	// Hint, when not empty, suggests a fix, such as the matcher name the
	// user probably meant.
	Hint string
}

// Error renders the message, the column and the hint, for example
// `unknown matcher "Hots" at column 1; did you mean "Host"?`.
func (e *SyntaxError) Error() string {
	var b strings.Builder
	b.WriteString(e.Msg)
	if e.Col > 0 {
		b.WriteString(" at column ")
		b.WriteString(strconv.Itoa(e.Col))
	}
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// errorAt builds a *SyntaxError; a short constructor keeps the parser readable.
func errorAt(col int, msg string) *SyntaxError {
	return &SyntaxError{Col: col, Msg: msg}
}

// suggestMatcher returns the known matcher name closest to name, or "" when
// none is close enough to be a plausible typo. Matcher names are
// case-sensitive, so a case-only difference is the strongest suggestion.
func suggestMatcher(name string) string {
	if alias, ok := legacyMatchers[name]; ok {
		return alias
	}
	for known := range matcherSpecs {
		if strings.EqualFold(known, name) {
			return known
		}
	}
	best, bestDist := "", -1
	for known := range matcherSpecs {
		d := didyoumean.Distance(strings.ToLower(name), strings.ToLower(known))
		if bestDist < 0 || d < bestDist || (d == bestDist && known < best) {
			best, bestDist = known, d
		}
	}
	// Allow roughly one edit per three runes, and at least one, so that
	// short garbage such as "X" does not get a misleading suggestion.
	limit := max(1, len([]rune(name))/3)
	if bestDist > limit {
		return ""
	}
	return best
}

// legacyMatchers maps names that Traefik v2 or its TCP routers use to the
// HTTP v3 matcher that does the same job, for the "did you mean" hint.
var legacyMatchers = map[string]string{
	"HostHeader": "Host",
	"HostSNI":    "Host",
}

// quoteArg renders a string argument the way a user would write it in a
// rule, preferring backticks, for use in hints.
func quoteArg(s string) string {
	if !strings.Contains(s, "`") {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}
