package rules

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/aptsentinel/aptsentinel/eql"
)

// nthKeyPos returns the line and column (from 1) of the n-th line (from 0)
// that starts with key (a "key =" assignment or a [table] header); 1:1 if
// there is none.
func nthKeyPos(raw []byte, key string, n int) (int, int) {
	off := nthKeyOffset(raw, key, n)
	if off < 0 {
		return 1, 1
	}
	return lineCol(raw, off)
}

func keyPos(raw []byte, key string, n int) (int, int) { return nthKeyPos(raw, key, n) }

// nthKeyOffset is the byte offset of the key of nthKeyPos, or -1.
func nthKeyOffset(raw []byte, key string, n int) int {
	off := 0
	for _, line := range bytes.SplitAfter(raw, []byte("\n")) {
		trimmed := bytes.TrimLeft(line, " \t")
		indent := len(line) - len(trimmed)
		if bytes.HasPrefix(trimmed, []byte(key)) {
			rest := bytes.TrimLeft(trimmed[len(key):], " \t")
			if key[0] == '[' || bytes.HasPrefix(rest, []byte("=")) {
				if n == 0 {
					return off + indent
				}
				n--
			}
		}
		off += len(line)
	}
	return -1
}

// lineCol converts a byte offset of raw into a line and a column counted in
// characters, both from 1.
func lineCol(raw []byte, off int) (int, int) {
	off = min(off, len(raw))
	line := 1 + bytes.Count(raw[:off], []byte("\n"))
	start := bytes.LastIndexByte(raw[:off], '\n') + 1
	return line, 1 + utf8.RuneCount(raw[start:off])
}

// posMapper maps byte offsets of a TOML string value (decoded) to offsets
// of the raw file, so an error inside a query names the file's line and
// column. When the value cannot be located, errors point at the key.
type posMapper struct {
	raw    []byte
	keyOff int   // offset of the key, -1 if not found
	offs   []int // offs[i]: raw offset of decoded byte i; nil if unmapped
}

// tableKeyOffset is the byte offset of the first "key =" line of the table
// [table] (up to the next table header), or -1: detection-rules files have
// other tables with a query key (transform.osquery) ahead of [rule].
func tableKeyOffset(raw []byte, table, key string) int {
	off, in := 0, false
	for _, line := range bytes.SplitAfter(raw, []byte("\n")) {
		trimmed := bytes.TrimLeft(line, " \t")
		indent := len(line) - len(trimmed)
		switch {
		case bytes.HasPrefix(trimmed, []byte("[")):
			in = string(bytes.TrimRight(trimmed, " \t\r\n")) == table
		case in && bytes.HasPrefix(trimmed, []byte(key)):
			if rest := bytes.TrimLeft(trimmed[len(key):], " \t"); bytes.HasPrefix(rest, []byte("=")) {
				return off + indent
			}
		}
		off += len(line)
	}
	return -1
}

// newPosMapper maps the string value of the key at byte offset keyOff
// (-1: not found).
func newPosMapper(raw []byte, keyOff int, key string, decoded string) posMapper {
	m := posMapper{raw: raw, keyOff: keyOff}
	if m.keyOff < 0 {
		return m
	}
	i := m.keyOff + len(key)
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '=') {
		i++
	}
	out, offs := decodeTOMLString(raw, i)
	if string(out) == decoded {
		m.offs = offs
	}
	return m
}

// fileError turns a compile error into a FileError at the file position.
func (m posMapper) fileError(name string, err error) *FileError {
	var e *eql.Error
	if !errors.As(err, &e) {
		line, col := 1, 1
		if m.keyOff >= 0 {
			line, col = lineCol(m.raw, m.keyOff)
		}
		return &FileError{File: name, Line: line, Col: col, Msg: err.Error()}
	}
	if m.offs != nil {
		var raw int
		if e.Pos.Off < len(m.offs) {
			raw = m.offs[e.Pos.Off]
		} else if len(m.offs) > 0 {
			raw = m.offs[len(m.offs)-1] + 1
		} else {
			raw = m.keyOff
		}
		line, col := lineCol(m.raw, raw)
		return &FileError{File: name, Line: line, Col: col, Msg: e.Msg}
	}
	line, col := 1, 1
	if m.keyOff >= 0 {
		line, col = lineCol(m.raw, m.keyOff)
	}
	return &FileError{File: name, Line: line, Col: col, Msg: fmt.Sprintf("in the string at %s: %s", e.Pos, e.Msg)}
}

// decodeTOMLString decodes the TOML string starting at raw[i] (any of the
// four kinds) and returns its bytes and, for each, its raw offset.
func decodeTOMLString(raw []byte, i int) ([]byte, []int) {
	var out []byte
	var offs []int
	emit := func(b []byte, at int) {
		out = append(out, b...)
		for range b {
			offs = append(offs, at)
		}
	}
	rest := raw[i:]
	var delim string
	switch {
	case bytes.HasPrefix(rest, []byte(`'''`)):
		delim = `'''`
	case bytes.HasPrefix(rest, []byte(`"""`)):
		delim = `"""`
	case bytes.HasPrefix(rest, []byte(`'`)):
		delim = `'`
	case bytes.HasPrefix(rest, []byte(`"`)):
		delim = `"`
	default:
		return nil, nil
	}
	i += len(delim)
	multi := len(delim) == 3
	if multi {
		// A newline right after the opening delimiter is trimmed.
		if bytes.HasPrefix(raw[i:], []byte("\r\n")) {
			i += 2
		} else if i < len(raw) && raw[i] == '\n' {
			i++
		}
	}
	literal := delim[0] == '\''
	for i < len(raw) {
		if bytes.HasPrefix(raw[i:], []byte(delim)) {
			// A multi-line string may end with up to two quotes of its own.
			if multi {
				for k := 0; k < 2 && bytes.HasPrefix(raw[i+1:], []byte(delim)); k++ {
					emit(raw[i:i+1], i)
					i++
				}
			}
			return out, offs
		}
		c := raw[i]
		if literal || c != '\\' {
			emit(raw[i:i+1], i)
			i++
			continue
		}
		start := i
		if i+1 >= len(raw) {
			return nil, nil
		}
		e := raw[i+1]
		switch e {
		case 'b':
			emit([]byte{'\b'}, start)
		case 't':
			emit([]byte{'\t'}, start)
		case 'n':
			emit([]byte{'\n'}, start)
		case 'f':
			emit([]byte{'\f'}, start)
		case 'r':
			emit([]byte{'\r'}, start)
		case 'e':
			emit([]byte{0x1b}, start)
		case '"', '\\':
			emit([]byte{e}, start)
		case 'u', 'U', 'x':
			n := map[byte]int{'u': 4, 'U': 8, 'x': 2}[e]
			if i+2+n > len(raw) {
				return nil, nil
			}
			v, err := strconv.ParseUint(string(raw[i+2:i+2+n]), 16, 32)
			if err != nil {
				return nil, nil
			}
			emit(utf8.AppendRune(nil, rune(v)), start)
			i += 2 + n
			continue
		case ' ', '\t', '\r', '\n':
			// Line-ending backslash: trim whitespace and newlines.
			j := i + 1
			for j < len(raw) && (raw[j] == ' ' || raw[j] == '\t' || raw[j] == '\r' || raw[j] == '\n') {
				j++
			}
			i = j
			continue
		default:
			return nil, nil
		}
		i += 2
	}
	return nil, nil
}
