package journal

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// MaxEntrySize bounds one entry's encoded size. journald 215 (jessie)
// refuses entries over 64 MiB (ENTRY_SIZE_MAX in journald-native.c) and reads
// a passed file in one piece; alerts and log records are kilobytes.
const MaxEntrySize = 16 << 20

// maxFields is journald's limit on fields per entry (ENTRY_FIELD_COUNT_MAX in
// journald-native.c); it adds its own trusted fields to ours, so stay well
// under.
const maxFields = 512

// Entry is one journal entry being built, already in wire format. The first
// mistake (an invalid name, a value too large) sticks: Add does nothing
// after it and Bytes returns it, so building code stays linear and a bad
// entry is never sent half-built. The zero Entry is empty and ready.
type Entry struct {
	buf    []byte
	fields int
	err    error
}

// Reset empties the entry for reuse, keeping its buffer.
func (e *Entry) Reset() {
	e.buf, e.fields, e.err = e.buf[:0], 0, nil
}

// Add appends the field name=value. Values with a newline, another control
// character or invalid UTF-8 use the length-prefixed form, so no value can
// end its field early and start another (an argv holding "\nPRIORITY=0"
// stays one value).
func (e *Entry) Add(name, value string) {
	addField(e, name, value, hasControl(value) || !utf8.ValidString(value))
}

// AddBytes is Add for a value held in a byte slice (an alert's JSON line);
// the bytes are copied.
func (e *Entry) AddBytes(name string, value []byte) {
	addField(e, name, value, hasControl(value) || !utf8.Valid(value))
}

// AddInt appends name with the decimal value v.
func (e *Entry) AddInt(name string, v int64) {
	var tmp [20]byte
	addField(e, name, strconv.AppendInt(tmp[:0], v, 10), false)
}

// addField is Add and AddBytes in one: generic so that a []byte value is
// never converted (copied) to a string on the way.
func addField[T string | []byte](e *Entry, name string, value T, lengthForm bool) {
	if e.err != nil {
		return
	}
	if err := checkName(name); err != nil {
		e.err = err
		return
	}
	if e.fields >= maxFields {
		e.err = fmt.Errorf("journal: field %s: entry already has %d fields", name, maxFields)
		return
	}
	if len(e.buf)+len(name)+len(value)+10 > MaxEntrySize {
		e.err = fmt.Errorf("journal: field %s: entry would exceed %d bytes", name, MaxEntrySize)
		return
	}
	e.fields++
	e.buf = append(e.buf, name...)
	if !lengthForm {
		e.buf = append(e.buf, '=')
		e.buf = append(e.buf, value...)
		e.buf = append(e.buf, '\n')
		return
	}
	e.buf = append(e.buf, '\n')
	e.buf = binary.LittleEndian.AppendUint64(e.buf, uint64(len(value)))
	e.buf = append(e.buf, value...)
	e.buf = append(e.buf, '\n')
}

// Len returns the encoded size so far.
func (e *Entry) Len() int { return len(e.buf) }

// Bytes returns the encoded entry, or the first mistake made building it.
// The slice is the entry's own buffer: valid until the next Add or Reset.
func (e *Entry) Bytes() ([]byte, error) {
	if e.err != nil {
		return nil, e.err
	}
	if e.fields == 0 {
		return nil, fmt.Errorf("journal: empty entry")
	}
	return e.buf, nil
}

// hasControl reports whether v holds a newline (which would end the field)
// or another control character but tab. With invalid UTF-8 (binary, which
// journalctl shows as a blob either way) such a value goes in the
// length-prefixed form.
func hasControl[T string | []byte](v T) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return true
		}
	}
	return false
}
