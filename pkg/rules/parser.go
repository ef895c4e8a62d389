package rules

import (
	"strconv"
	"strings"
)

// maxDepth bounds the nesting of parentheses and "!" so that a hostile or
// corrupted rule cannot exhaust the stack of the recursive-descent parser.
const maxDepth = 200

// parser is a recursive-descent parser over the token slice. The grammar is
//
//	or      = and { "||" and }
//	and     = unary { "&&" unary }
//	unary   = "!" unary | "(" or ")" | matcher
//	matcher = Name "(" [ string { "," string } ] ")"
//
// and it builds matchers directly, without an intermediate syntax tree,
// since nothing but matching and host indexing needs the structure.
type parser struct {
	toks  []token
	pos   int
	depth int
}

// parse compiles the whole rule and rejects trailing tokens.
func parse(rule string) (matcher, error) {
	if strings.TrimSpace(rule) == "" {
		return nil, &SyntaxError{Msg: "empty rule"}
	}
	toks, err := lex(rule)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	m, serr := p.parseOr()
	if serr != nil {
		return nil, serr
	}
	if t := p.peek(); t.kind != tokEOF {
		e := p.unexpected(t)
		switch t.kind {
		case tokIdent, tokNot, tokLParen:
			e.Hint = `join matchers with "&&" or "||"`
		case tokRParen:
			e.Hint = `it has no matching "("`
		}
		return nil, e
	}
	return m, nil
}

func (p *parser) peek() token { return p.toks[p.pos] }

// next consumes and returns the current token. The EOF token is never
// consumed, so peek stays valid after the end.
func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

// unexpected reports a token that does not fit the grammar where it stands.
func (p *parser) unexpected(t token) *SyntaxError {
	return errorAt(t.col, "unexpected "+t.describe())
}

func (p *parser) parseOr() (matcher, *SyntaxError) {
	first, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tokOr {
		return first, nil
	}
	ms := orMatcher{first}
	for p.peek().kind == tokOr {
		p.next()
		m, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return groupHosts(ms), nil
}

func (p *parser) parseAnd() (matcher, *SyntaxError) {
	first, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tokAnd {
		return first, nil
	}
	ms := andMatcher{first}
	for p.peek().kind == tokAnd {
		p.next()
		m, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func (p *parser) parseUnary() (matcher, *SyntaxError) {
	t := p.peek()
	switch t.kind {
	case tokNot, tokLParen:
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxDepth {
			return nil, errorAt(t.col, "rule nested too deeply")
		}
	}
	switch t.kind {
	case tokNot:
		p.next()
		m, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		// A double negation is the operand itself; unwrapping it keeps
		// Hosts() precise for rules such as !!Host(`a`).
		if n, ok := m.(notMatcher); ok {
			return n.m, nil
		}
		return notMatcher{m}, nil
	case tokLParen:
		p.next()
		m, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if c := p.peek(); c.kind != tokRParen {
			e := p.unexpected(c)
			if c.kind == tokEOF {
				e.Hint = `missing ")" to close "(" at column ` + strconv.Itoa(t.col)
			} else {
				e.Hint = `expected "&&", "||" or ")"`
			}
			return nil, e
		}
		p.next()
		return m, nil
	case tokIdent:
		return p.parseMatcher()
	default:
		e := p.unexpected(t)
		switch t.kind {
		case tokEOF:
			e.Hint = "expected a matcher such as Host(`example.com`)"
		case tokString:
			e.Hint = "a string must be the argument of a matcher"
		}
		return nil, e
	}
}

// parseMatcher parses Name(args...) and compiles it with the matcher's
// builder, which validates the argument count and values.
func (p *parser) parseMatcher() (matcher, *SyntaxError) {
	name := p.next()
	spec, ok := matcherSpecs[name.text]
	if !ok {
		e := errorAt(name.col, "unknown matcher "+strconv.Quote(name.text))
		if s := suggestMatcher(name.text); s != "" {
			e.Hint = "did you mean " + strconv.Quote(s) + "?"
		}
		return nil, e
	}
	open := p.peek()
	if open.kind != tokLParen {
		return nil, errorAt(open.col, `expected "(" after `+name.text)
	}
	p.next()
	var args []arg
	if p.peek().kind == tokRParen {
		p.next()
	} else {
		for {
			t := p.next()
			if t.kind != tokString {
				e := errorAt(t.col, "expected a quoted string argument, got "+t.describe())
				if t.kind == tokIdent {
					e.Hint = "quote it as " + quoteArg(t.text)
				}
				return nil, e
			}
			args = append(args, arg{text: t.text, col: t.col})
			sep := p.next()
			if sep.kind == tokRParen {
				break
			}
			if sep.kind != tokComma {
				e := p.unexpected(sep)
				if sep.kind == tokEOF {
					e.Hint = `missing ")" to close "(" at column ` + strconv.Itoa(open.col)
				} else {
					e.Hint = `expected "," or ")" after an argument`
				}
				return nil, e
			}
		}
	}
	if len(args) < spec.minArgs || len(args) > spec.maxArgs {
		return nil, argCountError(name, spec, args)
	}
	return spec.build(args)
}

// argCountError explains an argument count mismatch. Host with several
// arguments was valid in Traefik v2, so it gets a hint with the v3 spelling.
func argCountError(name token, spec matcherSpec, args []arg) *SyntaxError {
	var want string
	switch {
	case spec.minArgs == spec.maxArgs && spec.minArgs == 1:
		want = "1 argument"
	case spec.minArgs == spec.maxArgs:
		want = strconv.Itoa(spec.minArgs) + " arguments"
	default:
		want = strconv.Itoa(spec.minArgs) + " or " + strconv.Itoa(spec.maxArgs) + " arguments"
	}
	e := errorAt(name.col, name.text+" takes "+want+", got "+strconv.Itoa(len(args)))
	if spec.maxArgs == 1 && len(args) > 1 {
		alts := make([]string, len(args))
		for i, a := range args {
			alts[i] = name.text + "(" + quoteArg(a.text) + ")"
		}
		e.Hint = "write " + strings.Join(alts, " || ") + " to match any of them (Traefik v3 syntax)"
	}
	return e
}
