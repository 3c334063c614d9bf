package selftest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// how is the way the self-test reaches a sensor when no running sensor
// was found through its status file.
type how int

const (
	// inProcessUnicast: no live process holds the audit PID; the
	// in-process sensor takes it, as `aptsentinel run` would.
	inProcessUnicast how = iota
	// inProcessBeside: another process holds the audit PID (auditd, or
	// any other reader); the in-process sensor reads the audit multicast
	// group beside it, as `aptsentinel run` does there. Multicast works
	// beside any holder (kernel/audit.c kauditd_thread sends every record
	// to the group whoever holds the PID), so the holder's name does not
	// matter; its PID, rules and settings are left as they are.
	inProcessBeside
	// service: an aptsentinel binary holds the audit PID.
	service
)

// capAuditRead is CAP_AUDIT_READ's bit (include/uapi/linux/capability.h).
const capAuditRead = 37

// choose decides how to run from the kernel's enabled flag, the audit PID
// holder and whether this process may join the multicast group. It
// refuses only where no sensor can run: audit locked (no rule can be
// added until reboot) with no sensor running, or beside another holder
// without CAP_AUDIT_READ. Nothing is staged before it.
func choose(enabled uint32, holder auditHolder, canReadGroup bool) (how, error) {
	if holder.pid != 0 && holder.isSensor {
		return service, nil
	}
	if enabled == 2 {
		msg := "kernel audit is locked (auditctl -e 2) and no sensor runs: the sensor cannot install its rules until reboot"
		if holder.pid != 0 {
			msg += fmt.Sprintf(" (audit PID held by pid %d, %s, %s)", holder.pid, holder.comm, holder.exe)
		}
		return 0, errors.New(msg + "; nothing was staged")
	}
	if holder.pid == 0 {
		return inProcessUnicast, nil
	}
	if !canReadGroup {
		return 0, fmt.Errorf("the kernel's audit PID is held by pid %d (%s, %s) and no aptsentinel sensor runs; "+
			"a sensor beside it reads the audit multicast group, which needs CAP_AUDIT_READ, and this process lacks it; nothing was staged",
			holder.pid, holder.comm, holder.exe)
	}
	return inProcessBeside, nil
}

// hasCapability reports whether process self (procRoot/self/status) has
// capability bit in its effective set. An unreadable file says no.
func hasCapability(procRoot string, bit uint) bool {
	f, err := os.Open(filepath.Join(procRoot, "self", "status"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		hex, ok := strings.CutPrefix(sc.Text(), "CapEff:")
		if !ok {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		return err == nil && v&(1<<bit) != 0
	}
	return false
}
