package journal

import (
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"MESSAGE", true},
		{"APTSENTINEL_RULE_ID", true},
		{"A", true},
		{"A1_2", true},
		{strings.Repeat("A", 64), true},
		{strings.Repeat("A", 65), false},
		{"", false},
		{"_PID", false},
		{"1ABC", false},
		{"message", false},
		{"MESSAGE ID", false},
		{"MESSAGE=X", false},
		{"MESSAGE\nPRIORITY", false},
		{"ÄBC", false},
	}
	for _, tt := range tests {
		if got := ValidName(tt.name); got != tt.want {
			t.Errorf("ValidName(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSanitizeName(t *testing.T) {
	tests := []struct {
		prefix, key, want string
	}{
		{"APTSENTINEL_", "audit_pid", "APTSENTINEL_AUDIT_PID"},
		{"APTSENTINEL_", "receive-buffer", "APTSENTINEL_RECEIVE_BUFFER"},
		{"APTSENTINEL_", "x\nPRIORITY=0", "APTSENTINEL_X_PRIORITY_0"},
		{"APTSENTINEL_", "", "APTSENTINEL_EMPTY"},
		{"APTSENTINEL_", "héllo", "APTSENTINEL_H__LLO"},
		{"APTSENTINEL_", strings.Repeat("k", 100), "APTSENTINEL_" + strings.Repeat("K", 52)},
	}
	for _, tt := range tests {
		got := SanitizeName(tt.prefix, tt.key)
		if got != tt.want {
			t.Errorf("SanitizeName(%q, %q) = %q, want %q", tt.prefix, tt.key, got, tt.want)
		}
		if !ValidName(got) {
			t.Errorf("SanitizeName(%q, %q) = %q is not a valid name", tt.prefix, tt.key, got)
		}
	}
}

func FuzzSanitizeName(f *testing.F) {
	for _, s := range []string{"", "a", "_x", "\n", "PRIORITY=0", strings.Repeat("é", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if got := SanitizeName("APTSENTINEL_", key); !ValidName(got) {
			t.Fatalf("SanitizeName(%q) = %q: not valid", key, got)
		}
	})
}
