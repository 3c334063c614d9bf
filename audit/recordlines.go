package audit

import (
	"bytes"
	"fmt"
	"strconv"
)

// ParseRecordLines reads records written one per line as
//
//	type=<netlink message type number> msg=<payload>
//
// the form of the captured records in testdata/records. A kernel payload
// never holds a raw newline (kernel/audit.c audit_log_n_untrustedstring
// hex-encodes any value with a control character), so a newline always
// ends a record. The returned Data slices point into b.
func ParseRecordLines(b []byte) ([]Record, error) {
	var recs []Record
	n := 0
	for line := range bytes.Lines(b) {
		n++
		line = bytes.TrimSuffix(line, []byte("\n"))
		if len(line) == 0 {
			continue
		}
		rest, ok := bytes.CutPrefix(line, []byte("type="))
		if !ok {
			return nil, fmt.Errorf("record line %d: does not start with \"type=\"", n)
		}
		num, payload, ok := bytes.Cut(rest, []byte(" msg="))
		if !ok {
			return nil, fmt.Errorf("record line %d: no \" msg=\" after the type", n)
		}
		typ, err := strconv.ParseUint(string(num), 10, 16)
		if err != nil {
			return nil, fmt.Errorf("record line %d: type %q: %w", n, num, err)
		}
		recs = append(recs, Record{Type: uint16(typ), Data: payload})
	}
	return recs, nil
}
