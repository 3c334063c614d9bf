package audit

import (
	"errors"
	"slices"
	"testing"
)

func TestFieldScanner(t *testing.T) {
	tests := []struct {
		in   string
		want []string // key=value, value shown with its quotes if quoted
		bad  bool
	}{
		{in: ` arch=c000003e success=yes tty=(none) comm="sh" key=(null)`, want: []string{`arch=c000003e`, `success=yes`, `tty=(none)`, `comm="sh"`, `key=(null)`}},
		{in: `  a294="split-argument-293" a295=6869`, want: []string{`a294="split-argument-293"`, `a295=6869`}},
		{in: ` a1="" a2=`, want: []string{`a1=""`, `a2=`}},
		{in: ` msg='op=login res=success'`, want: []string{`msg="op=login res=success"`}},
		{in: ` `, want: nil},
		{in: ``, want: nil},
		{in: ` novalue`, bad: true},
		{in: ` =x`, bad: true},
		{in: ` comm="sh`, bad: true},
		{in: ` a=1 b`, want: []string{"a=1"}, bad: true},
	}
	for _, tt := range tests {
		s := newFieldScanner([]byte(tt.in))
		var got []string
		for s.next() {
			v := string(s.f.Val)
			if s.f.Quoted {
				v = `"` + v + `"`
			}
			got = append(got, string(s.f.Key)+"="+v)
		}
		if !slices.Equal(got, tt.want) || (s.err != nil) != tt.bad {
			t.Errorf("scan %q = %q, err %v", tt.in, got, s.err)
		}
		if tt.bad && !errors.Is(s.err, ErrMalformed) {
			t.Errorf("scan %q: err %v does not wrap ErrMalformed", tt.in, s.err)
		}
	}
}

func TestAppendUntrusted(t *testing.T) {
	tests := []struct {
		f    field
		want string
		bad  bool
	}{
		{f: field{Val: []byte("sh"), Quoted: true}, want: "sh"},
		{f: field{Val: []byte("6861732073706163650A")}, want: "has space\n"},
		{f: field{Val: []byte("6e65770a")}, want: "new\n"},
		{f: field{Val: []byte("(null)")}, want: ""},
		{f: field{Val: []byte("(none)")}, want: ""},
		{f: field{Val: []byte("")}, want: ""},
		{f: field{Val: []byte("686")}, bad: true},
		{f: field{Val: []byte("zz")}, bad: true},
		{f: field{Val: []byte("/usr/bin/sh")}, bad: true}, // unquoted text is not a form the kernel writes
	}
	for _, tt := range tests {
		got, err := appendUntrusted(nil, tt.f)
		if tt.bad {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("appendUntrusted(%q) err = %v, want ErrMalformed", tt.f.Val, err)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("appendUntrusted(%q) = %q, %v", tt.f.Val, got, err)
		}
	}
}

func TestParseNumbers(t *testing.T) {
	f := func(v string) field { return field{Key: []byte("k"), Val: []byte(v)} }
	if v, err := parseSignedDec(f("-101")); v != -101 || err != nil {
		t.Errorf("exit=-101: %d %v", v, err)
	}
	if v, err := parseSignedDec(f("-9223372036854775808")); v != -9223372036854775808 || err != nil {
		t.Errorf("min int64: %d %v", v, err)
	}
	for _, bad := range []string{"", "-", "9223372036854775808", "1x", "--1"} {
		if _, err := parseSignedDec(f(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("parseSignedDec(%q) err = %v", bad, err)
		}
	}
	if v, err := parseHexUint(f("c000003e")); v != 0xc000003e || err != nil {
		t.Errorf("arch: %x %v", v, err)
	}
	for _, bad := range []string{"", "0x1", "12345678901234567", "g"} {
		if _, err := parseHexUint(f(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("parseHexUint(%q) err = %v", bad, err)
		}
	}
	if v, err := parseDec(f("4294967295")); v != 4294967295 || err != nil {
		t.Errorf("auid: %d %v", v, err)
	}
	if _, err := parseID(f("4294967296")); !errors.Is(err, ErrMalformed) {
		t.Errorf("parseID over 32 bits: %v", err)
	}
}
