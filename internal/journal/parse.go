package journal

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Field is one field of a parsed entry.
type Field struct{ Name, Value string }

// Parse parses an encoded entry as journald reads it
// (server_process_native_message in journald-native.c). It is the tests'
// yardstick that what Entry writes means what it should; it checks framing
// only, not names.
func Parse(b []byte) ([]Field, error) {
	var out []Field
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			return nil, fmt.Errorf("journal: parse: field without newline: %q", b)
		}
		line := b[:nl]
		if eq := bytes.IndexByte(line, '='); eq >= 0 {
			out = append(out, Field{string(line[:eq]), string(line[eq+1:])})
			b = b[nl+1:]
			continue
		}
		name := string(line)
		b = b[nl+1:]
		if len(b) < 8 {
			return nil, fmt.Errorf("journal: parse: field %q: short length", name)
		}
		n := binary.LittleEndian.Uint64(b)
		b = b[8:]
		if n >= uint64(len(b)) || b[n] != '\n' {
			return nil, fmt.Errorf("journal: parse: field %q: value of %d bytes not followed by a newline", name, n)
		}
		out = append(out, Field{name, string(b[:n])})
		b = b[n+1:]
	}
	return out, nil
}
