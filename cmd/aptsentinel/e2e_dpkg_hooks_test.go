package main

import (
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/apttest"
)

// TestE2EDpkgHooks: the hooks apt runs around dpkg when it installs a
// package. DPkg::Pre-Invoke runs from a forked apt (as the update hooks
// do); DPkg::Pre-Install-Pkgs is exec'd by apt itself, the shell's parent
// being the apt process the user started. Both must raise the alert; a
// real apt installs a real (empty) package, purged afterwards.
func TestE2EDpkgHooks(t *testing.T) {
	requireE2E(t)
	deb := apttest.BuildDummy(t)
	cases := []struct {
		name, option string
		port         int
	}{
		{"DPkg::Pre-Invoke", "DPkg::Pre-Invoke::=", 7001},
		{"DPkg::Pre-Install-Pkgs", "DPkg::Pre-Install-Pkgs::=", 7002},
	}
	s := startSensor(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := s.alertCount()
			apttest.InstallLocal(t, deb, "-o", c.option+connectHook("1.1.1.1", c.port))
			apttest.PurgeDummy(t)
			got := s.waitAlerts(before+1, 5*time.Second)[before:]
			if len(got) != 1 {
				t.Fatalf("%d alerts, want 1; logs:\n%s", len(got), s.logText())
			}
			checkAlert(t, got[0], "1.1.1.1", c.port, "ENETUNREACH")
		})
	}
}
