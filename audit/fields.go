package audit

import (
	"fmt"
)

// field is one key=value pair of a record. Key and Val alias the record's
// bytes: they are valid only until the caller reuses Record.Data.
type field struct {
	Key []byte
	// Val is the value without its quotes.
	Val []byte
	// Quoted is true when the value was written in double quotes, which the
	// kernel does for printable untrusted strings; unquoted untrusted strings
	// are hex (kernel/audit.c, audit_log_n_untrustedstring).
	Quoted bool
}

// fieldScanner walks the space-separated key=value fields after the header
// without allocating. Use: for s.next() { s.f ... }; then check s.err.
type fieldScanner struct {
	b   []byte
	i   int
	f   field
	err error
}

func newFieldScanner(b []byte) fieldScanner { return fieldScanner{b: b} }

// next advances to the next field. It returns false at the end of the
// record or on malformed input, in which case err says what is wrong.
func (s *fieldScanner) next() bool {
	if s.err != nil {
		return false
	}
	b := s.b
	i := s.i
	// The kernel separates fields with one space; continuation EXECVE
	// records start with two (the header's and the argument's own).
	for i < len(b) && b[i] == ' ' {
		i++
	}
	if i >= len(b) {
		s.i = i
		return false
	}
	keyStart := i
	for i < len(b) && b[i] != '=' && b[i] != ' ' {
		i++
	}
	if i >= len(b) || b[i] != '=' || i == keyStart {
		s.err = fmt.Errorf("%w: field %q at offset %d has no key=value form", ErrMalformed, clip(b[keyStart:i]), keyStart)
		return false
	}
	s.f.Key = b[keyStart:i]
	i++ // '='
	if i < len(b) && (b[i] == '"' || b[i] == '\'') {
		q := b[i]
		valStart := i + 1
		j := valStart
		for j < len(b) && b[j] != q {
			j++
		}
		if j >= len(b) {
			s.err = fmt.Errorf("%w: value of %q has no closing quote", ErrMalformed, clip(s.f.Key))
			return false
		}
		s.f.Val = b[valStart:j]
		s.f.Quoted = true
		s.i = j + 1
		return true
	}
	valStart := i
	for i < len(b) && b[i] != ' ' {
		i++
	}
	s.f.Val = b[valStart:i]
	s.f.Quoted = false
	s.i = i
	return true
}

// clip shortens b for use in an error message so that a garbled megabyte
// record does not become a megabyte log line.
func clip(b []byte) string {
	const max = 40
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

// appendUntrusted decodes a value the kernel wrote with
// audit_log_untrustedstring (comm, exe, cwd, EXECVE arguments): quoted values
// are taken as they are, unquoted ones are hex. The placeholders "(null)"
// and "(none)" (kernel/audit.c when there is no value) decode to nothing.
func appendUntrusted(dst []byte, f field) ([]byte, error) {
	if f.Quoted {
		return append(dst, f.Val...), nil
	}
	if isPlaceholder(f.Val) {
		return dst, nil
	}
	return appendHex(dst, f.Val)
}

// isPlaceholder reports whether v is one of the kernel's "no value" words.
func isPlaceholder(v []byte) bool {
	return string(v) == "(null)" || string(v) == "(none)"
}

// appendHex decodes upper- or lower-case hex digits onto dst.
func appendHex(dst []byte, h []byte) ([]byte, error) {
	if len(h)%2 != 0 {
		return dst, fmt.Errorf("%w: hex value %q has an odd length %d", ErrMalformed, clip(h), len(h))
	}
	for i := 0; i < len(h); i += 2 {
		hi, ok1 := unhex(h[i])
		lo, ok2 := unhex(h[i+1])
		if !ok1 || !ok2 {
			return dst, fmt.Errorf("%w: hex value %q has a non-hex digit at %d", ErrMalformed, clip(h), i)
		}
		dst = append(dst, hi<<4|lo)
	}
	return dst, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// parseDec parses an unsigned decimal value such as pid=3120.
func parseDec(f field) (uint64, error) {
	v, end, ok := scanUint(f.Val, 0)
	if !ok || end != len(f.Val) {
		return 0, fmt.Errorf("%w: %q=%q is not a decimal number", ErrMalformed, clip(f.Key), clip(f.Val))
	}
	return v, nil
}

// parseSignedDec parses a decimal value that may be negative, such as the
// syscall's exit=-101.
func parseSignedDec(f field) (int64, error) {
	v := f.Val
	neg := len(v) > 0 && v[0] == '-'
	if neg {
		v = v[1:]
	}
	u, end, ok := scanUint(v, 0)
	if !ok || end != len(v) || u > 1<<63 || (!neg && u == 1<<63) {
		return 0, fmt.Errorf("%w: %q=%q is not a signed decimal number", ErrMalformed, clip(f.Key), clip(f.Val))
	}
	if neg {
		return -int64(u), nil
	}
	return int64(u), nil
}

// parseHexUint parses an unsigned hex value such as arch=c000003e or
// a0=55b9d6039760 (the kernel prints syscall arguments with %lx).
func parseHexUint(f field) (uint64, error) {
	v := f.Val
	if len(v) == 0 || len(v) > 16 {
		return 0, fmt.Errorf("%w: %q=%q is not a 64-bit hex number", ErrMalformed, clip(f.Key), clip(f.Val))
	}
	var u uint64
	for _, c := range v {
		d, ok := unhex(c)
		if !ok {
			return 0, fmt.Errorf("%w: %q=%q is not a hex number", ErrMalformed, clip(f.Key), clip(f.Val))
		}
		u = u<<4 | uint64(d)
	}
	return u, nil
}
