package journal

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// decodeEntry parses the native protocol as journald does
// (server_process_native_message in journald-native.c): the tests' check
// that what Entry writes means what it should.
func decodeEntry(b []byte) ([][2]string, error) {
	var out [][2]string
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			return nil, fmt.Errorf("field without newline: %q", b)
		}
		line := b[:nl]
		if eq := bytes.IndexByte(line, '='); eq >= 0 {
			out = append(out, [2]string{string(line[:eq]), string(line[eq+1:])})
			b = b[nl+1:]
			continue
		}
		name := string(line)
		b = b[nl+1:]
		if len(b) < 8 {
			return nil, fmt.Errorf("field %s: short length", name)
		}
		n := binary.LittleEndian.Uint64(b)
		b = b[8:]
		if n >= uint64(len(b)) || b[n] != '\n' {
			return nil, fmt.Errorf("field %s: value of %d bytes not followed by a newline", name, n)
		}
		out = append(out, [2]string{name, string(b[:n])})
		b = b[n+1:]
	}
	return out, nil
}
