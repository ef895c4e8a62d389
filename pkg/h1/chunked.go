package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
)

// Errors returned by the chunked reader. They are all fatal for the
// connection: after one of them the framing of what follows is unknown.
var (
	ErrChunkSize    = errors.New("h1: malformed chunk size")
	ErrChunkExt     = errors.New("h1: malformed chunk extension")
	ErrChunkLine    = errors.New("h1: chunk line too long")
	ErrChunkData    = errors.New("h1: chunk data not followed by CRLF")
	ErrChunkTrailer = errors.New("h1: malformed chunked trailer")
)

// maxTrailerBytes bounds the whole trailer section of a chunked body so that
// a peer cannot make us buffer an unbounded number of trailer fields.
const maxTrailerBytes = 64 << 10

type chunkState uint8

const (
	csSize    chunkState = iota // expecting a chunk-size line
	csData                      // inside chunk data
	csDataEnd                   // expecting the CRLF after chunk data
	csTrailer                   // after the last chunk: trailer section
	csDone                      // body complete
)

// ChunkedReader decodes an RFC 9112 chunked body strictly: lines must end in
// CRLF, the size must be hex without overflow, chunk extensions are syntax
// checked and bounded, data must be followed by CRLF and trailer fields are
// validated like header fields. Trailer returns the trailer fields once Read
// has returned io.EOF.
//
// Every error it returns is sticky: once the framing is broken nothing that
// follows on the connection can be trusted.
type ChunkedReader struct {
	br      *bufio.Reader
	maxLine int
	n       int64 // bytes left in the current chunk's data
	state   chunkState
	err     error
	trailer http.Header
}

// NewChunkedReader returns a *ChunkedReader that reads a chunked body from br.
// maxLineBytes bounds each chunk-size line (size and extensions) and each
// trailer line; values <= 0 mean 4096. It is never larger than br's buffer.
func NewChunkedReader(br *bufio.Reader, maxLineBytes int) io.Reader {
	r := new(ChunkedReader)
	r.init(br, maxLineBytes)
	return r
}

func (r *ChunkedReader) init(br *bufio.Reader, maxLine int) {
	if maxLine <= 0 {
		maxLine = 4096
	}
	*r = ChunkedReader{br: br, maxLine: maxLine}
}

// Trailer returns the trailer fields received after the last chunk, or nil.
// It is only meaningful after Read returned io.EOF.
func (r *ChunkedReader) Trailer() http.Header { return r.trailer }

func (r *ChunkedReader) Read(p []byte) (int, error) {
	for r.err == nil {
		switch r.state {
		case csData:
			if len(p) == 0 {
				return 0, nil
			}
			if int64(len(p)) > r.n {
				p = p[:r.n]
			}
			n, err := r.br.Read(p)
			r.n -= int64(n)
			if r.n == 0 {
				r.state = csDataEnd
				// Consume the chunk terminator and, when it is already
				// buffered, the last chunk too, so that callers such as
				// io.ReadAll see io.EOF together with the last data instead
				// of after one more Read.
				r.advanceBuffered()
			}
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				r.err = err
			}
			if n > 0 {
				if r.err == io.EOF || r.err == nil {
					return n, r.err
				}
				return n, nil
			}
		default:
			r.step()
		}
	}
	return 0, r.err
}

// discard drops up to limit bytes of chunk data without copying them and
// returns io.EOF if the body ended within the limit, nil if it did not.
func (r *ChunkedReader) discard(limit int64) error {
	for r.err == nil {
		if r.state != csData {
			r.step()
			continue
		}
		if limit <= 0 {
			return nil
		}
		n := min(r.n, limit)
		if n > int64(r.br.Size()) {
			n = int64(r.br.Size())
		}
		d, err := r.br.Discard(int(n))
		r.n -= int64(d)
		limit -= int64(d)
		if err != nil {
			r.err = unexpected(err)
			break
		}
		if r.n == 0 {
			r.state = csDataEnd
		}
	}
	return r.err
}

// advanceBuffered runs the non-data states as long as what they need is
// already buffered, so it never blocks.
func (r *ChunkedReader) advanceBuffered() {
	for r.err == nil {
		buf, _ := r.br.Peek(r.br.Buffered())
		switch r.state {
		case csDataEnd:
			if len(buf) < 2 {
				return
			}
		case csSize:
			if bytes.IndexByte(buf, '\n') < 0 {
				return
			}
		case csTrailer:
			// Only the common case of no trailer fields is handled here.
			if len(buf) < 2 || buf[0] != '\r' || buf[1] != '\n' {
				return
			}
		default:
			return
		}
		r.step()
	}
}

// step performs one non-data state transition, blocking if needed.
func (r *ChunkedReader) step() {
	switch r.state {
	case csSize:
		line, err := r.readLine()
		if err != nil {
			r.err = err
			return
		}
		n, err := ParseChunkSize(line)
		if err != nil {
			r.err = err
			return
		}
		r.n = n
		if n == 0 {
			r.state = csTrailer
		} else {
			r.state = csData
		}
	case csDataEnd:
		b, err := r.br.Peek(2)
		if err != nil {
			r.err = unexpected(err)
			return
		}
		if b[0] != '\r' || b[1] != '\n' {
			r.err = ErrChunkData
			return
		}
		r.br.Discard(2)
		r.state = csSize
	case csTrailer:
		r.err = r.readTrailer()
		if r.err == nil {
			r.state = csDone
			r.err = io.EOF
		}
	case csDone:
		r.err = io.EOF
	}
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readLine reads one CRLF-terminated line and returns it without the CRLF.
// The slice is only valid until the next read from br.
func (r *ChunkedReader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull || len(line) > r.maxLine {
		return nil, ErrChunkLine
	}
	if err != nil {
		return nil, unexpected(err)
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, ErrChunkSize
	}
	return line[:len(line)-2], nil
}

// maxChunkSizeDigits bounds the hex digits of a chunk size, leading zeros
// included. Fifteen digits make at most 2^60-1, so the size never
// overflows an int64.
const maxChunkSizeDigits = 15

// ParseChunkSize parses a chunk-size line of a chunked body, without its
// CRLF: 1*HEXDIG [ chunk-ext ]. It is strict: at most 15 hex digits, and
// chunk extensions must follow the RFC 9112 grammar (BWS ";" BWS name
// [ BWS "=" BWS ( token / quoted-string ) ], repeated), which also keeps a
// CR, LF or any other control character from hiding in them. Extensions
// are validated and ignored; the work is linear in len(line), which the
// caller bounds.
//
// It returns ErrChunkSize when the size is missing or too long and
// ErrChunkExt when what follows it is not a valid chunk-ext. It does not
// allocate.
func ParseChunkSize(line []byte) (int64, error) {
	var n int64
	i := 0
	for ; i < len(line); i++ {
		d, ok := unhex(line[i])
		if !ok {
			break
		}
		if i == maxChunkSizeDigits {
			return 0, ErrChunkSize
		}
		n = n<<4 | int64(d)
	}
	if i == 0 {
		return 0, ErrChunkSize
	}
	if i < len(line) && !validChunkExt(line[i:]) {
		return 0, ErrChunkExt
	}
	return n, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// validChunkExt checks a non-empty chunk-ext:
// 1*( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ) [ BWS ].
func validChunkExt(s []byte) bool {
	skipWS := func() {
		for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
			s = s[1:]
		}
	}
	token := func() bool {
		i := 0
		for i < len(s) && tokenTable[s[i]] {
			i++
		}
		s = s[i:]
		return i > 0
	}
	for first := true; ; first = false {
		skipWS()
		if len(s) == 0 {
			// Trailing BWS is tolerated; whitespace alone is not an
			// extension.
			return !first
		}
		if s[0] != ';' {
			return false
		}
		s = s[1:]
		skipWS()
		if !token() {
			return false
		}
		skipWS()
		if len(s) == 0 || s[0] != '=' {
			continue
		}
		s = s[1:]
		skipWS()
		if len(s) > 0 && s[0] == '"' {
			s = s[1:]
			closed := false
			for len(s) > 0 && !closed {
				c := s[0]
				switch {
				case c == '"':
					closed = true
				case c == '\\':
					if len(s) < 2 || (s[1] < ' ' && s[1] != '\t') || s[1] == 0x7f {
						return false
					}
					s = s[1:]
				case (c < ' ' && c != '\t') || c == 0x7f:
					return false
				}
				s = s[1:]
			}
			if !closed {
				return false
			}
		} else if !token() {
			return false
		}
	}
}

// readTrailer reads the trailer section up to and including its empty line.
func (r *ChunkedReader) readTrailer() error {
	total := 0
	for {
		line, err := r.readLine()
		if err != nil {
			if err == ErrChunkSize {
				return ErrChunkTrailer
			}
			return err
		}
		if len(line) == 0 {
			return nil
		}
		total += len(line) + 2
		if total > maxTrailerBytes {
			return ErrChunkTrailer
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !ValidHeaderName(line[:colon]) {
			return ErrChunkTrailer
		}
		v := bytes.Trim(line[colon+1:], " \t")
		if !ValidHeaderValue(v) {
			return ErrChunkTrailer
		}
		if r.trailer == nil {
			r.trailer = make(http.Header)
		}
		k := canonicalKey(string(line[:colon]))
		r.trailer[k] = append(r.trailer[k], string(v))
	}
}

// WriteChunk writes p as one chunk of a chunked body. An empty p writes
// nothing, because a zero-size chunk would end the body.
func WriteChunk(bw *bufio.Writer, p []byte) error {
	if len(p) == 0 {
		return nil
	}
	writeChunkHeader(bw, len(p))
	bw.Write(p)
	_, err := bw.WriteString("\r\n")
	return err
}

// WriteLastChunk ends a chunked body with the zero-size chunk, the given
// trailer fields (invalid names are skipped, CR and LF in values are replaced
// by spaces) and the final CRLF.
func WriteLastChunk(bw *bufio.Writer, trailer http.Header) error {
	bw.WriteString("0\r\n")
	for k, vv := range trailer {
		for _, v := range vv {
			writeField(bw, k, v)
		}
	}
	_, err := bw.WriteString("\r\n")
	return err
}

// writeField writes "k: v\r\n", skipping invalid names and neutralising
// characters in v that would split the message.
func writeField(bw *bufio.Writer, k, v string) {
	if !validToken(k) {
		return
	}
	bw.WriteString(k)
	bw.WriteString(": ")
	if validValue(v) {
		bw.WriteString(v)
	} else {
		for i := 0; i < len(v); i++ {
			c := v[i]
			if (c < ' ' && c != '\t') || c == 0x7f {
				c = ' '
			}
			bw.WriteByte(c)
		}
	}
	bw.WriteString("\r\n")
}

// writeChunkHeader writes the hex size line of a chunk of n bytes.
func writeChunkHeader(bw *bufio.Writer, n int) {
	if bw.Available() < 18 {
		bw.Flush()
	}
	b := strconv.AppendUint(bw.AvailableBuffer(), uint64(n), 16)
	b = append(b, '\r', '\n')
	bw.Write(b)
}
