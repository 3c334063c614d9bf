package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aptsentinel/aptsentinel/internal/journal"
)

// auditHolder is the process the kernel sends audit records to: the
// process whose pid is the audit PID (kernel/audit.c auditd_conn).
type auditHolder struct {
	pid       uint32 // 0: no live holder
	comm, exe string
	// isSensor: the holder is an aptsentinel binary.
	isSensor bool
	// args are the holder's arguments after argv[0].
	args []string
	// output is a sensor's --output as its command line and config file
	// set it; "" when it could not be told (outputErr says why).
	output    string
	outputErr error
}

// findHolder describes the live process with audit PID pid. A pid with no
// process (a holder that died without releasing it) counts as none: the
// kernel drops such a registration when it next sends (auditd_reset), and
// the sensor takes it over.
func findHolder(procRoot string, pid uint32) (auditHolder, error) {
	if pid == 0 {
		return auditHolder{}, nil
	}
	dir := filepath.Join(procRoot, strconv.FormatUint(uint64(pid), 10))
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return auditHolder{}, nil
	}
	h := auditHolder{pid: pid, comm: "?", exe: "?"}
	if b, err := os.ReadFile(filepath.Join(dir, "comm")); err == nil {
		h.comm = strings.TrimSpace(string(b))
	}
	if exe, err := os.Readlink(filepath.Join(dir, "exe")); err == nil {
		// An upgraded binary still running shows as "PATH (deleted)" (proc(5)).
		h.exe = strings.TrimSuffix(exe, " (deleted)")
	}
	cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return h, fmt.Errorf("reading the audit PID holder's command line (pid %d): %w", pid, err)
	}
	if argv := strings.Split(string(bytes.TrimRight(cmdline, "\x00")), "\x00"); len(argv) > 1 {
		h.args = argv[1:]
	}
	h.isSensor = filepath.Base(h.exe) == "aptsentinel"
	if h.isSensor && len(h.args) > 0 && h.args[0] == "run" {
		h.output, h.outputErr = sensorOutput(h.args[1:])
	}
	return h, nil
}

// sensorOutput returns the --output of `aptsentinel run ARGS`, reading its
// --config file the way run does (the command line wins). "auto" is
// resolved as run resolves it, by journald's socket now: a journald that
// started or stopped since the sensor did is the one case told wrong.
func sensorOutput(args []string) (string, error) {
	o := runFlags(io.Discard)
	if err := o.fs.Parse(args); err != nil {
		return "", fmt.Errorf("its command line: %w", err)
	}
	if o.config != "" {
		if err := applyConfigFile(o.fs, o.config); err != nil {
			return "", err
		}
	}
	if o.output == "auto" {
		if journal.Available(journalSocket) {
			return "journald", nil
		}
		return "stdout", nil
	}
	return o.output, nil
}
