package selftest

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/aptsentinel/aptsentinel/procfs"
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
// sensorOutput, when set, tells a sensor's output from its arguments after
// "run".
func findHolder(procRoot string, pid uint32, sensorOutput func([]string) (string, error)) (auditHolder, error) {
	if pid == 0 {
		return auditHolder{}, nil
	}
	fs, err := procfs.NewFS(procRoot)
	if err != nil {
		return auditHolder{}, err
	}
	p := fs.Proc(int(pid))
	h := auditHolder{pid: pid, comm: "?", exe: "?"}
	switch comm, err := p.Comm(); {
	case errors.Is(err, procfs.ErrGone):
		return auditHolder{}, nil
	case err == nil:
		h.comm = comm
	}
	// procfs strips the " (deleted)" an upgraded, still running binary
	// shows (proc(5)).
	if exe, err := p.Exe(); err == nil && exe.Path != "" {
		h.exe = exe.Path
	}
	argv, err := p.Cmdline()
	if err != nil && !errors.Is(err, procfs.ErrGone) {
		return h, fmt.Errorf("reading the audit PID holder's command line (pid %d): %w", pid, err)
	}
	if len(argv) > 1 {
		h.args = argv[1:]
	}
	h.isSensor = filepath.Base(h.exe) == "aptsentinel"
	if h.isSensor && len(h.args) > 0 && h.args[0] == "run" && sensorOutput != nil {
		h.output, h.outputErr = sensorOutput(h.args[1:])
	}
	return h, nil
}

// Holder describes the process holding the audit PID, for `aptsentinel
// status`: PID 0 when none lives.
type Holder struct {
	PID       uint32
	Comm, Exe string
	IsSensor  bool // an aptsentinel binary
}

// FindHolder describes the live process with audit PID pid (see findHolder).
func FindHolder(procRoot string, pid uint32) (Holder, error) {
	h, err := findHolder(procRoot, pid, nil)
	return Holder{PID: h.pid, Comm: h.comm, Exe: h.exe, IsSensor: h.isSensor}, err
}
