package journal

import (
	"fmt"
	"strings"
)

// maxNameLen is journald's limit on a field name: journal_field_valid() in
// systemd's src/libsystemd/sd-journal/journal-file.c refuses longer names.
const maxNameLen = 64

// ValidName reports whether name may be sent as a field name: 1 to 64
// characters of A-Z, 0-9 and _, not starting with a digit or an underscore.
// Names starting with _ are the journal's trusted fields (_PID, _UID...):
// journald drops them from clients, and a sender must never seem to set them.
func ValidName(name string) bool {
	if name == "" || len(name) > maxNameLen {
		return false
	}
	if c := name[0]; c == '_' || (c >= '0' && c <= '9') {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// checkName is the one place where names are checked before they go on the
// wire.
func checkName(name string) error {
	if !ValidName(name) {
		return fmt.Errorf("journal: field name %q: want 1-%d characters of A-Z, 0-9, _ not starting with _ or a digit", name, maxNameLen)
	}
	return nil
}

// SanitizeName turns any string (a slog attribute key) into a valid field
// name under prefix: letters are upper-cased, every other character outside
// A-Z0-9 becomes _, and the result is cut to the length limit. prefix must
// itself be a valid name (it is, in this program: a constant); an empty key
// gives prefix+"EMPTY".
func SanitizeName(prefix, key string) string {
	var b strings.Builder
	b.Grow(len(prefix) + len(key))
	b.WriteString(prefix)
	for i := 0; i < len(key) && b.Len() < maxNameLen; i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	if len(key) == 0 {
		b.WriteString("EMPTY")
	}
	s := b.String()
	if len(s) > maxNameLen {
		s = s[:maxNameLen]
	}
	return s
}
