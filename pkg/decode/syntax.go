package decode

import "strconv"

// SyntaxError is a file that cannot be parsed at all. Line and Col are
// 1-based; zero means unknown (YAML parse errors carry no column).
type SyntaxError struct {
	File      string
	Line, Col int
	Msg       string
}

// Pos returns "file:line:col", leaving out what is unknown.
func (e *SyntaxError) Pos() string {
	s := e.File
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
		if e.Col > 0 {
			s += ":" + strconv.Itoa(e.Col)
		}
	}
	return s
}

// Error returns "file:line:col: msg".
func (e *SyntaxError) Error() string { return e.Pos() + ": " + e.Msg }
