package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// What a test that installs packages changes on the host, and how it puts
// it back: /etc, dpkg's packages, files it rewrites, policy-rc.d.

// etcSnapshot lists every path under /etc (not following links).
func etcSnapshot(t *testing.T) map[string]bool {
	t.Helper()
	paths := map[string]bool{}
	err := filepath.WalkDir("/etc", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // gone while we walked
			}
			return err
		}
		paths[p] = true
		return nil
	})
	if err != nil {
		t.Fatalf("listing /etc: %v", err)
	}
	return paths
}

// restoreEtc removes what appeared under /etc since before, deepest path
// first, and names it in the log; /etc/.git (etckeeper) included.
func restoreEtc(t *testing.T, before map[string]bool) {
	t.Helper()
	var added []string
	for p := range etcSnapshot(t) {
		if !before[p] {
			added = append(added, p)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(added)))
	var top []string
	for _, p := range added {
		if !before[filepath.Dir(p)] || filepath.Dir(p) == "/etc" {
			top = append(top, p)
		}
		if err := os.RemoveAll(p); err != nil {
			t.Errorf("restoring /etc: %v", err)
		}
	}
	if len(top) > 0 {
		t.Logf("removed from /etc after the purge: %s", strings.Join(top, " "))
	}
}

// installed reports whether dpkg has pkg installed (not only its config).
func installed(pkg string) bool {
	out, err := exec.Command("dpkg-query", "-W", "-f=${db:Status-Status}", pkg).Output()
	return err == nil && string(out) == "installed"
}

func purge(t *testing.T, pkgs ...string) {
	t.Helper()
	var present []string
	for _, p := range pkgs {
		if exec.Command("dpkg-query", "-W", p).Run() == nil {
			present = append(present, p)
		}
	}
	if len(present) == 0 {
		return
	}
	// dpkg does not wait for its lock: another apt or dpkg may hold it.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Second) {
		cmd := exec.Command("dpkg", append([]string{"--purge"}, present...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err == nil {
			return
		}
		if !strings.Contains(string(out), "lock") || time.Now().After(deadline) {
			t.Errorf("dpkg --purge %s: %v\n%s", strings.Join(present, " "), err, out)
			return
		}
	}
}

// withPolicyRC makes invoke-rc.d refuse to start services while the test
// runs (policy-rc.d exit 101), unless a policy is already in place.
func withPolicyRC(t *testing.T) {
	t.Helper()
	const policy = "/usr/sbin/policy-rc.d"
	if _, err := os.Lstat(policy); err == nil {
		return
	}
	must(t, os.WriteFile(policy, []byte("#!/bin/sh\n# aptsentinel quiet test: no service starts\nexit 101\n"), 0o755))
	t.Cleanup(func() { must(t, os.Remove(policy)) })
}

// restoreFiles puts back the content of each path (those that exist now)
// when the test ends, if it changed.
func restoreFiles(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		before, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		t.Cleanup(func() {
			if now, err := os.ReadFile(p); err == nil && bytes.Equal(now, before) {
				return
			}
			t.Logf("restoring %s", p)
			must(t, os.WriteFile(p, before, 0o644))
		})
	}
}

// removeIfNew removes path when the test ends, if it does not exist now.
func removeIfNew(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); err == nil {
		return
	}
	t.Cleanup(func() { must(t, os.RemoveAll(path)) })
}
