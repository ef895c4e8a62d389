package rules

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// tokenKind classifies the tokens of the rule language.
type tokenKind int

const (
	tokEOF    tokenKind = iota
	tokIdent            // a matcher name such as Host
	tokString           // a backtick or double-quoted string; text is its value
	tokLParen           // (
	tokRParen           // )
	tokComma            // ,
	tokAnd              // &&
	tokOr               // ||
	tokNot              // !
)

// token is one lexical element. col is the 1-based rune column of its first
// character, which every error message reports.
type token struct {
	kind tokenKind
	text string
	col  int
}

// describe names a token the way error messages quote it.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of rule"
	case tokString:
		return "string " + quoteArg(t.text)
	default:
		return strconv.Quote(t.text)
	}
}

// lex splits a rule into tokens. It works on the whole rule up front because
// rules are short and a token slice makes the parser's look-ahead trivial.
func lex(rule string) ([]token, error) {
	var toks []token
	col := 1
	for i := 0; i < len(rule); {
		r, size := utf8.DecodeRuneInString(rule[i:])
		start := col
		switch {
		case unicode.IsSpace(r):
			i += size
			col++
			continue
		case r == '(' || r == ')' || r == ',' || r == '!':
			toks = append(toks, token{kind: punctKind(r), text: string(r), col: start})
			i++
			col++
		case r == '&' || r == '|':
			if i+1 < len(rule) && rule[i+1] == rule[i] {
				kind := tokAnd
				if r == '|' {
					kind = tokOr
				}
				toks = append(toks, token{kind: kind, text: rule[i : i+2], col: start})
				i += 2
				col += 2
				continue
			}
			double := string([]rune{r, r})
			return nil, &SyntaxError{Col: start, Msg: "unexpected " + strconv.Quote(string(r)), Hint: "did you mean " + strconv.Quote(double) + "?"}
		case r == '`':
			end := i + 1
			for end < len(rule) && rule[end] != '`' {
				end++
			}
			if end == len(rule) {
				return nil, errorAt(start, "unterminated string starting")
			}
			text := rule[i+1 : end]
			toks = append(toks, token{kind: tokString, text: text, col: start})
			col += utf8.RuneCountInString(rule[i : end+1])
			i = end + 1
		case r == '"':
			end := i + 1
			for end < len(rule) && rule[end] != '"' {
				if rule[end] == '\\' {
					end++ // The escaped byte cannot close the string.
				}
				end++
			}
			if end >= len(rule) {
				return nil, errorAt(start, "unterminated string starting")
			}
			raw := rule[i : end+1]
			text, err := strconv.Unquote(raw)
			if err != nil {
				return nil, errorAt(start, "invalid double-quoted string "+raw)
			}
			toks = append(toks, token{kind: tokString, text: text, col: start})
			col += utf8.RuneCountInString(raw)
			i = end + 1
		case isIdentRune(r):
			end := i
			for end < len(rule) {
				r2, s2 := utf8.DecodeRuneInString(rule[end:])
				if !isIdentRune(r2) {
					break
				}
				end += s2
			}
			text := rule[i:end]
			toks = append(toks, token{kind: tokIdent, text: text, col: start})
			col += utf8.RuneCountInString(text)
			i = end
		default:
			e := &SyntaxError{Col: start, Msg: "unexpected character " + strconv.Quote(string(r))}
			if r == '\'' {
				e.Hint = "quote strings with backticks or double quotes"
			}
			return nil, e
		}
	}
	toks = append(toks, token{kind: tokEOF, col: col})
	return toks, nil
}

// punctKind maps a single-character punctuation rune to its token kind.
func punctKind(r rune) tokenKind {
	switch r {
	case '(':
		return tokLParen
	case ')':
		return tokRParen
	case ',':
		return tokComma
	default:
		return tokNot
	}
}

// isIdentRune reports whether r may appear in a matcher name. Digits and
// underscores are accepted so that a typo is reported as an unknown matcher
// with a suggestion rather than as a stray character.
func isIdentRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}
