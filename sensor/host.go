package sensor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aptsentinel/aptsentinel/alert"
)

// Host is the host the sensor runs on: host.id of every event and the
// host object of every alert (one type for one concept: alert.Host).
type Host = alert.Host

// machineIDFiles are read in order: systemd's machine id, then the D-Bus
// copy that hosts without systemd (and jessie-era installs) may have only.
var machineIDFiles = []string{"etc/machine-id", "var/lib/dbus/machine-id"}

// ReadHost reads the machine id and hostname below root ("/" on a real host).
func ReadHost(root string) (Host, error) {
	var h Host
	for _, name := range machineIDFiles {
		b, err := os.ReadFile(filepath.Join(root, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return h, fmt.Errorf("host id: %w", err)
		}
		id := strings.TrimSpace(string(b))
		if !validMachineID(id) {
			return h, fmt.Errorf("host id: %s: not a machine id (want 32 lowercase hex digits): %q", filepath.Join(root, name), clip(id, 64))
		}
		h.ID = id
		break
	}
	if h.ID == "" {
		return h, fmt.Errorf("host id: none of /%s exists (run systemd-machine-id-setup or dbus-uuidgen --ensure)", strings.Join(machineIDFiles, ", /"))
	}
	name, err := os.Hostname()
	if err != nil {
		return h, fmt.Errorf("host name: %w", err)
	}
	h.Name = name
	return h, nil
}

// validMachineID checks the format machine-id(5) prescribes.
func validMachineID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
