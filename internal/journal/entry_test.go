package journal

import (
	"encoding/binary"
	"strings"
	"testing"
)

func TestEntryWireFormat(t *testing.T) {
	lengthForm := func(name, value string) string {
		var b []byte
		b = append(b, name...)
		b = append(b, '\n')
		b = binary.LittleEndian.AppendUint64(b, uint64(len(value)))
		b = append(b, value...)
		return string(append(b, '\n'))
	}
	tests := []struct {
		name, value, want string
	}{
		{"MESSAGE", "hello", "MESSAGE=hello\n"},
		{"MESSAGE", "", "MESSAGE=\n"},
		{"MESSAGE", "tab\tok", "MESSAGE=tab\tok\n"},
		{"MESSAGE", "ünïcode", "MESSAGE=ünïcode\n"},
		{"MESSAGE", `{"a":"=b"}`, "MESSAGE={\"a\":\"=b\"}\n"},
		{"ARG", "x\nPRIORITY=0", lengthForm("ARG", "x\nPRIORITY=0")},
		{"ARG", "nul\x00", lengthForm("ARG", "nul\x00")},
		{"ARG", "esc\x1b[31m", lengthForm("ARG", "esc\x1b[31m")},
		{"ARG", "del\x7f", lengthForm("ARG", "del\x7f")},
		{"ARG", "bad\xff\xfe", lengthForm("ARG", "bad\xff\xfe")},
		{"ARG", "cr\r", lengthForm("ARG", "cr\r")},
	}
	for _, tt := range tests {
		var e Entry
		e.Add(tt.name, tt.value)
		got, err := e.Bytes()
		if err != nil {
			t.Fatalf("Add(%q, %q): %v", tt.name, tt.value, err)
		}
		if string(got) != tt.want {
			t.Errorf("Add(%q, %q) = %q, want %q", tt.name, tt.value, got, tt.want)
		}
	}
}

func TestEntryRefuses(t *testing.T) {
	tests := []struct {
		desc  string
		build func(e *Entry)
		want  string
	}{
		{"empty entry", func(e *Entry) {}, "empty entry"},
		{"trusted name", func(e *Entry) { e.Add("_PID", "1") }, `"_PID"`},
		{"lower case", func(e *Entry) { e.Add("message", "x") }, `"message"`},
		{"name with newline", func(e *Entry) { e.Add("A\nPRIORITY", "0") }, `"A\nPRIORITY"`},
		{"first mistake sticks", func(e *Entry) {
			e.Add("BAD NAME", "x")
			e.Add("MESSAGE", "fine")
		}, `"BAD NAME"`},
		{"too large", func(e *Entry) { e.Add("MESSAGE", strings.Repeat("x", MaxEntrySize)) }, "exceed"},
		{"too many fields", func(e *Entry) {
			for i := 0; i <= maxFields; i++ {
				e.Add("F", "x")
			}
		}, "fields"},
	}
	for _, tt := range tests {
		var e Entry
		tt.build(&e)
		_, err := e.Bytes()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one naming %s", tt.desc, err, tt.want)
		}
	}
}

func TestEntryResetAndInt(t *testing.T) {
	var e Entry
	e.Add("BAD name", "x")
	e.Reset()
	e.AddInt("PID", -42)
	e.AddBytes("MESSAGE", []byte("m"))
	got, err := e.Bytes()
	if err != nil || string(got) != "PID=-42\nMESSAGE=m\n" {
		t.Fatalf("after Reset: %q, %v", got, err)
	}
	if e.Len() != len(got) {
		t.Errorf("Len() = %d, want %d", e.Len(), len(got))
	}
}

// FuzzEntryRoundTrip checks that any value comes back exactly as one field,
// whatever it holds: no value can end its field or add another.
func FuzzEntryRoundTrip(f *testing.F) {
	f.Add("hello", "x\nPRIORITY=0\nMESSAGE_ID=00")
	f.Add("", "\x00\xff")
	f.Add("=", "\n")
	f.Fuzz(func(t *testing.T, v1, v2 string) {
		var e Entry
		e.Add("MESSAGE", v1)
		e.Add("APTSENTINEL_ARG", v2)
		e.Add("PRIORITY", "4")
		b, err := e.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(b)
		if err != nil {
			t.Fatalf("decode %q: %v", b, err)
		}
		want := []Field{{"MESSAGE", v1}, {"APTSENTINEL_ARG", v2}, {"PRIORITY", "4"}}
		if len(got) != len(want) {
			t.Fatalf("decoded %d fields, want 3: %q", len(got), got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("field %d = %q, want %q", i, got[i], want[i])
			}
		}
	})
}

// FuzzParse runs Parse on arbitrary bytes: it must refuse or parse, never
// panic, and what it parses must survive a re-encoding.
func FuzzParse(f *testing.F) {
	f.Add([]byte("A=b\n"))
	f.Add([]byte("A\n\x01\x00\x00\x00\x00\x00\x00\x00x\n"))
	f.Add([]byte("A\n\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fields, err := Parse(b)
		if err != nil {
			return
		}
		var e Entry
		for _, fv := range fields {
			if !ValidName(fv.Name) {
				return
			}
			e.Add(fv.Name, fv.Value)
		}
		if len(fields) == 0 {
			return
		}
		re, err := e.Bytes()
		if err != nil {
			return // too many or too large fields: refused, fine
		}
		again, err := Parse(re)
		if err != nil || len(again) != len(fields) {
			t.Fatalf("re-encoded %q does not decode to the same %d fields: %v", re, len(fields), err)
		}
	})
}

func BenchmarkEntryEncode(b *testing.B) {
	line := []byte(strings.Repeat(`{"k":"v"},`, 400))
	hostile := "sh -c 'x\nPRIORITY=0'"
	var e Entry
	b.ReportAllocs()
	for b.Loop() {
		e.Reset()
		e.AddBytes("MESSAGE", line)
		e.Add("PRIORITY", "4")
		e.Add("APTSENTINEL_PROCESS_COMMAND_LINE", hostile)
		e.AddInt("APTSENTINEL_PROCESS_PID", 31337)
		if _, err := e.Bytes(); err != nil {
			b.Fatal(err)
		}
	}
}
