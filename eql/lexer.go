package eql

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Pos is a position in the query text, line and column counting from 1;
// columns count characters (runes), not bytes.
type Pos struct {
	Line, Col int
	Off       int // byte offset
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Error is a compile error at a position of the query text.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

func errAt(p Pos, format string, args ...any) *Error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tOp // punctuation and operators
)

type token struct {
	kind tokKind
	text string // identifier, operator, decoded string, number text
	pos  Pos
	// optional is set on an identifier written with a leading '?'.
	optional bool
}

// lexer splits a query into tokens.
type lexer struct {
	src  string
	off  int
	line int
	col  int
}

func newLexer(src string) *lexer { return &lexer{src: src, line: 1, col: 1} }

func (l *lexer) pos() Pos { return Pos{Line: l.line, Col: l.col, Off: l.off} }

func (l *lexer) peekByte(n int) byte {
	if l.off+n < len(l.src) {
		return l.src[l.off+n]
	}
	return 0
}

// advance moves over n bytes, keeping line and column.
func (l *lexer) advance(n int) {
	end := l.off + n
	for l.off < end && l.off < len(l.src) {
		r, size := utf8.DecodeRuneInString(l.src[l.off:])
		l.off += size
		if r == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
	}
}

func (l *lexer) skipSpaceAndComments() error {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			l.advance(1)
		case c == '/' && l.peekByte(1) == '/':
			for l.off < len(l.src) && l.src[l.off] != '\n' {
				l.advance(1)
			}
		case c == '/' && l.peekByte(1) == '*':
			start := l.pos()
			end := strings.Index(l.src[l.off+2:], "*/")
			if end < 0 {
				return errAt(start, "unterminated /* comment")
			}
			l.advance(end + 4)
		default:
			return nil
		}
	}
	return nil
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '@' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool {
	return isIdentStart(c) || c == '.' || (c >= '0' && c <= '9')
}

func (l *lexer) next() (token, error) {
	if err := l.skipSpaceAndComments(); err != nil {
		return token{}, err
	}
	p := l.pos()
	if l.off >= len(l.src) {
		return token{kind: tEOF, pos: p}, nil
	}
	c := l.src[l.off]
	switch {
	case c == '?' && (isIdentStart(l.peekByte(1)) || l.peekByte(1) == '`'):
		l.advance(1)
		t, err := l.ident(p)
		t.optional = true
		return t, err
	case isIdentStart(c) || c == '`':
		return l.ident(p)
	case c >= '0' && c <= '9':
		start := l.off
		for l.off < len(l.src) && (isIdentPart(l.src[l.off])) {
			l.advance(1)
		}
		return token{kind: tNumber, text: l.src[start:l.off], pos: p}, nil
	case c == '"':
		return l.str(p)
	case c == '\'':
		return token{}, errAt(p, "single-quoted strings are not EQL: use double quotes or \"\"\"raw\"\"\"")
	}
	for _, op := range []string{"==", "!=", "<=", ">="} {
		if strings.HasPrefix(l.src[l.off:], op) {
			l.advance(2)
			return token{kind: tOp, text: op, pos: p}, nil
		}
	}
	if strings.ContainsRune("()[],<>:=~+-*/%|", rune(c)) {
		l.advance(1)
		return token{kind: tOp, text: string(c), pos: p}, nil
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.off:])
	return token{}, errAt(p, "unexpected character %q", r)
}

func (l *lexer) ident(p Pos) (token, error) {
	if l.src[l.off] == '`' {
		end := strings.IndexByte(l.src[l.off+1:], '`')
		if end < 0 {
			return token{}, errAt(p, "unterminated `field name`")
		}
		name := l.src[l.off+1 : l.off+1+end]
		l.advance(end + 2)
		return token{kind: tIdent, text: name, pos: p}, nil
	}
	start := l.off
	for l.off < len(l.src) && isIdentPart(l.src[l.off]) {
		l.advance(1)
	}
	return token{kind: tIdent, text: l.src[start:l.off], pos: p}, nil
}

// str reads "..." with escapes or """raw""" (no escapes).
func (l *lexer) str(p Pos) (token, error) {
	if strings.HasPrefix(l.src[l.off:], `"""`) {
		end := strings.Index(l.src[l.off+3:], `"""`)
		if end < 0 {
			return token{}, errAt(p, `unterminated """raw string"""`)
		}
		s := l.src[l.off+3 : l.off+3+end]
		l.advance(end + 6)
		return token{kind: tString, text: s, pos: p}, nil
	}
	l.advance(1)
	var b strings.Builder
	for {
		if l.off >= len(l.src) {
			return token{}, errAt(p, "unterminated string")
		}
		c := l.src[l.off]
		switch c {
		case '"':
			l.advance(1)
			return token{kind: tString, text: b.String(), pos: p}, nil
		case '\n':
			return token{}, errAt(l.pos(), "newline in string (use \"\"\"raw\"\"\" for several lines)")
		case '\\':
			ep := l.pos()
			e := l.peekByte(1)
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '"', '\\', '\'':
				b.WriteByte(e)
			case 'u':
				// \u{XXXX}: 2 to 8 hex digits, as Elasticsearch EQL spells it.
				if l.peekByte(2) != '{' {
					return token{}, errAt(ep, `bad escape: want \u{hex}`)
				}
				end := strings.IndexByte(l.src[l.off+3:], '}')
				if end < 2 || end > 8 {
					return token{}, errAt(ep, `bad escape: want \u{hex} with 2 to 8 digits`)
				}
				v, err := strconv.ParseUint(l.src[l.off+3:l.off+3+end], 16, 32)
				if err != nil || !utf8.ValidRune(rune(v)) {
					return token{}, errAt(ep, "bad escape: %q is not a code point", l.src[l.off:l.off+4+end])
				}
				b.WriteRune(rune(v))
				l.advance(4 + end)
				continue
			default:
				return token{}, errAt(ep, "unknown escape \\%c", e)
			}
			l.advance(2)
		default:
			r, size := utf8.DecodeRuneInString(l.src[l.off:])
			b.WriteRune(r)
			l.advance(size)
		}
	}
}

// tokenize returns all tokens, ending with tEOF.
func tokenize(src string) ([]token, error) {
	l := newLexer(src)
	var out []token
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		if t.kind == tEOF {
			return out, nil
		}
		if len(out) > 100000 {
			return nil, errAt(t.pos, "query too long")
		}
	}
}
