package docker

import (
	"fmt"
	"regexp"
	"strings"
)

// constraint is a parsed `constraints` expression, Traefik's small language
// over container labels:
//
//	Label(`key`, `value`)        the label is set to exactly value
//	LabelRegex(`key`, `regexp`)  the label's value matches regexp (whole value)
//	!x   x && y   x || y   (x)
//
// Label keys are compared case-insensitively, as labels are everywhere
// else; values are compared exactly.
type constraint interface {
	match(labels map[string]string) bool
}

type (
	notExpr  struct{ x constraint }
	andExpr  struct{ x, y constraint }
	orExpr   struct{ x, y constraint }
	labelEq  struct{ key, value string }
	labelReg struct {
		key string
		re  *regexp.Regexp
	}
)

func (e notExpr) match(l map[string]string) bool { return !e.x.match(l) }
func (e andExpr) match(l map[string]string) bool { return e.x.match(l) && e.y.match(l) }
func (e orExpr) match(l map[string]string) bool  { return e.x.match(l) || e.y.match(l) }
func (e labelEq) match(l map[string]string) bool {
	v, ok := lookupLabel(l, e.key)
	return ok && v == e.value
}
func (e labelReg) match(l map[string]string) bool {
	v, ok := lookupLabel(l, e.key)
	return ok && e.re.MatchString(v)
}

// lookupLabel finds a label by key, exactly first and then ignoring case.
func lookupLabel(l map[string]string, key string) (string, bool) {
	if v, ok := l[key]; ok {
		return v, true
	}
	for k, v := range l {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}

// parseConstraints parses a constraints expression; an empty one matches
// every container (nil). Errors give the 1-based column of the problem.
func parseConstraints(src string) (constraint, error) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	p := &cparser{src: src}
	p.next()
	x, err := p.or()
	if err != nil {
		return nil, fmt.Errorf("constraints %q: %v", src, err)
	}
	if p.tok.kind != tEOF {
		return nil, fmt.Errorf("constraints %q: %v", src, p.unexpected())
	}
	return x, nil
}

type ctokKind int

const (
	tEOF ctokKind = iota
	tIdent
	tString
	tLParen
	tRParen
	tComma
	tNot
	tAnd
	tOr
	tBad
)

type ctok struct {
	kind ctokKind
	text string // identifier, unquoted string, or the bad text
	col  int    // 1-based
}

type cparser struct {
	src string
	pos int
	tok ctok
}

// next reads the next token into p.tok.
func (p *cparser) next() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n') {
		p.pos++
	}
	start := p.pos
	col := start + 1
	if p.pos >= len(p.src) {
		p.tok = ctok{kind: tEOF, col: col}
		return
	}
	c := p.src[p.pos]
	two := ""
	if p.pos+1 < len(p.src) {
		two = p.src[p.pos : p.pos+2]
	}
	switch {
	case c == '(':
		p.pos++
		p.tok = ctok{tLParen, "(", col}
	case c == ')':
		p.pos++
		p.tok = ctok{tRParen, ")", col}
	case c == ',':
		p.pos++
		p.tok = ctok{tComma, ",", col}
	case two == "&&":
		p.pos += 2
		p.tok = ctok{tAnd, "&&", col}
	case two == "||":
		p.pos += 2
		p.tok = ctok{tOr, "||", col}
	case c == '!':
		p.pos++
		p.tok = ctok{tNot, "!", col}
	case c == '`' || c == '"':
		end := strings.IndexByte(p.src[p.pos+1:], c)
		if end < 0 {
			p.pos = len(p.src)
			p.tok = ctok{tBad, "unterminated string", col}
			return
		}
		p.tok = ctok{tString, p.src[p.pos+1 : p.pos+1+end], col}
		p.pos += end + 2
	case isIdentByte(c):
		for p.pos < len(p.src) && isIdentByte(p.src[p.pos]) {
			p.pos++
		}
		p.tok = ctok{tIdent, p.src[start:p.pos], col}
	default:
		p.pos++
		p.tok = ctok{tBad, string(c), col}
	}
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func (p *cparser) unexpected() error {
	switch p.tok.kind {
	case tEOF:
		return fmt.Errorf("unexpected end of expression at column %d", p.tok.col)
	case tBad:
		if p.tok.text == "unterminated string" {
			return fmt.Errorf("unterminated string starting at column %d", p.tok.col)
		}
		return fmt.Errorf("unexpected %q at column %d", p.tok.text, p.tok.col)
	case tString:
		return fmt.Errorf("unexpected string %q at column %d", p.tok.text, p.tok.col)
	}
	return fmt.Errorf("unexpected %q at column %d", p.tok.text, p.tok.col)
}

func (p *cparser) or() (constraint, error) {
	x, err := p.and()
	for err == nil && p.tok.kind == tOr {
		p.next()
		var y constraint
		if y, err = p.and(); err == nil {
			x = orExpr{x, y}
		}
	}
	return x, err
}

func (p *cparser) and() (constraint, error) {
	x, err := p.unary()
	for err == nil && p.tok.kind == tAnd {
		p.next()
		var y constraint
		if y, err = p.unary(); err == nil {
			x = andExpr{x, y}
		}
	}
	return x, err
}

func (p *cparser) unary() (constraint, error) {
	switch p.tok.kind {
	case tNot:
		p.next()
		x, err := p.unary()
		return notExpr{x}, err
	case tLParen:
		p.next()
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, fmt.Errorf("missing \")\": %v", p.unexpected())
		}
		p.next()
		return x, nil
	case tIdent:
		return p.call()
	}
	return nil, p.unexpected()
}

// call parses Label(`k`, `v`) or LabelRegex(`k`, `re`).
func (p *cparser) call() (constraint, error) {
	name, col := p.tok.text, p.tok.col
	if !strings.EqualFold(name, "Label") && !strings.EqualFold(name, "LabelRegex") {
		msg := fmt.Sprintf("unknown function %q at column %d (want Label or LabelRegex)", name, col)
		if strings.EqualFold(name, "Tag") || strings.EqualFold(name, "TagRegex") {
			msg += "; Tag is for Consul and Nomad, not Docker"
		}
		return nil, fmt.Errorf("%s", msg)
	}
	p.next()
	if p.tok.kind != tLParen {
		return nil, fmt.Errorf("want \"(\" after %s: %v", name, p.unexpected())
	}
	p.next()
	var args []ctok
	for {
		if p.tok.kind != tString {
			return nil, fmt.Errorf("want a quoted argument to %s: %v", name, p.unexpected())
		}
		args = append(args, p.tok)
		p.next()
		if p.tok.kind == tComma {
			p.next()
			continue
		}
		if p.tok.kind != tRParen {
			return nil, fmt.Errorf("want \",\" or \")\" in %s: %v", name, p.unexpected())
		}
		p.next()
		break
	}
	if len(args) != 2 {
		return nil, fmt.Errorf("%s at column %d takes 2 arguments (key and value), got %d", name, col, len(args))
	}
	if strings.EqualFold(name, "Label") {
		return labelEq{args[0].text, args[1].text}, nil
	}
	re, err := regexp.Compile("^(?:" + args[1].text + ")$")
	if err != nil {
		return nil, fmt.Errorf("LabelRegex at column %d: invalid regular expression %q: %v", args[1].col, args[1].text, err)
	}
	return labelReg{args[0].text, re}, nil
}
