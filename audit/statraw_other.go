//go:build !amd64

package audit

import "golang.org/x/sys/unix"

// statRaw is stat(2); statraw_amd64.go says why amd64 makes it raw.
func statRaw(path string) (unix.Stat_t, bool) {
	var st unix.Stat_t
	return st, unix.Stat(path, &st) == nil
}
