// Package rules parses and evaluates router rules written in the Traefik v3
// rule language, such as
//
//	Host(`example.com`) && (PathPrefix(`/api`) || Header(`X-Api`, `1`))
//
// A rule is compiled once by Parse into a tree of small matcher values, so
// that Rule.Match, which runs for every request, does no parsing and, for the
// common matchers (Host, Path, PathPrefix, Method, Header), no allocation.
//
// The supported matchers are Host, HostRegexp, Path, PathPrefix, PathRegexp,
// Method, Header, HeaderRegexp, Query, QueryRegexp and ClientIP, combined with
// the operators && and || (&& binds tighter), the prefix operator ! and
// parentheses. Arguments are strings quoted with backticks or double quotes;
// double-quoted strings accept Go escape sequences.
//
// Errors found while parsing are reported as *SyntaxError values that carry
// the 1-based column of the offending text, so configuration tools can point
// the user at it.
package rules
