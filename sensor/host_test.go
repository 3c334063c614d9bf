package sensor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

func TestReadHost(t *testing.T) {
	const id = "3d1219c7c4c5404aaa1f6d2a48adfda4"
	tests := []struct {
		name    string
		files   map[string]string
		wantID  string
		wantErr string
	}{
		{"systemd machine-id", map[string]string{"etc/machine-id": id + "\n"}, id, ""},
		{"dbus fallback", map[string]string{"var/lib/dbus/machine-id": id + "\n"}, id, ""},
		{"systemd first", map[string]string{"etc/machine-id": id, "var/lib/dbus/machine-id": strings.Repeat("0", 32)}, id, ""},
		{"missing", nil, "", "none of"},
		{"uninitialized", map[string]string{"etc/machine-id": "uninitialized\n"}, "", "not a machine id"},
		{"uppercase", map[string]string{"etc/machine-id": strings.ToUpper(id)}, "", "not a machine id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for name, body := range tt.files {
				p := filepath.Join(root, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			h, err := ReadHost(root)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadHost err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.ID != tt.wantID || h.Name == "" {
				t.Errorf("ReadHost = %+v, want id %s and a name", h, tt.wantID)
			}
		})
	}
}

func TestReadHostReal(t *testing.T) {
	h, err := ReadHost("/")
	if err != nil {
		testenv.Require(t, "a machine id (/etc/machine-id)", err)
	}
	want, _ := os.Hostname()
	if h.Name != want || len(h.ID) != 32 {
		t.Errorf("ReadHost(/) = %+v", h)
	}
}
