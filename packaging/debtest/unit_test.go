package debtest

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
)

// unitFile is the [Service] section of a systemd unit: each directive's
// values in order.
type unitFile map[string][]string

func readUnit(t *testing.T, path string) unitFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = line
		case section == "[Service]":
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: bad line %q", path, line)
			}
			u[k] = append(u[k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

func (u unitFile) one(t *testing.T, key string) string {
	t.Helper()
	if len(u[key]) != 1 {
		t.Fatalf("unit: %s set %d times, want once", key, len(u[key]))
	}
	return u[key][0]
}

// setprivArgs returns setpriv(1) arguments that give a command the unit's
// capability bounding set and no_new_privs, as systemd would.
func (u unitFile) setprivArgs(t *testing.T, drop string) []string {
	t.Helper()
	bounding := "-all"
	for _, c := range strings.Fields(u.one(t, "CapabilityBoundingSet")) {
		name := strings.ToLower(strings.TrimPrefix(c, "CAP_"))
		if name != drop {
			bounding += ",+" + name
		}
	}
	args := []string{"--bounding-set", bounding, "--inh-caps", "-all"}
	if u.one(t, "NoNewPrivileges") == "yes" {
		args = append(args, "--no-new-privs")
	}
	return args
}

func TestUnitDirectives(t *testing.T) {
	u := readUnit(t, "../aptsentinel.service")
	want := map[string]string{
		"ExecStart":               "/usr/sbin/aptsentinel run --config /etc/aptsentinel/aptsentinel.conf",
		"ExecReload":              "/bin/kill -HUP $MAINPID",
		"CapabilityBoundingSet":   "CAP_AUDIT_CONTROL CAP_AUDIT_READ CAP_NET_ADMIN CAP_SYS_PTRACE",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "full",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"RestrictAddressFamilies": "AF_NETLINK AF_UNIX",
		"Restart":                 "on-failure",
		"SyslogIdentifier":        "aptsentinel",
		// READY=1 and the watchdog's pings come from the sensor's event loop.
		"Type":         "notify",
		"NotifyAccess": "main",
		"WatchdogSec":  "30",
	}
	for k, v := range want {
		if got := u.one(t, k); got != v {
			t.Errorf("%s=%s, want %s", k, got, v)
		}
	}
	// These would hide other processes or the initial namespaces from the
	// sensor.
	for _, k := range []string{"ProtectProc", "ProcSubset", "PrivateNetwork", "PrivateUsers", "User", "DynamicUser"} {
		if len(u[k]) > 0 {
			t.Errorf("%s=%s would blind the sensor", k, fmt.Sprint(u[k]))
		}
	}
}
