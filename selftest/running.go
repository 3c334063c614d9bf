package selftest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// runningSensor is what selftest needs of the sensor's status file
// (sensor.StatusFile, written by every mode: unicast, beside auditd,
// locked).
type runningSensor struct {
	PID  int    `json:"pid"`
	Mode string `json:"mode"`
}

// findRunning finds the running sensor through its status file: the pid
// it wrote, if that process is alive and an aptsentinel binary. ok is
// false when there is no file, or it is stale (its sensor was killed and
// the pid is gone or reused). The audit PID cannot tell this: beside
// auditd, auditd holds it and the sensor reads the multicast group.
func findRunning(procRoot, statusPath string, sensorOutput func([]string) (string, error)) (h auditHolder, mode string, ok bool, err error) {
	b, err := os.ReadFile(statusPath)
	if errors.Is(err, fs.ErrNotExist) {
		return auditHolder{}, "", false, nil
	}
	if err != nil {
		return auditHolder{}, "", false, fmt.Errorf("reading the sensor's status file: %w", err)
	}
	var rs runningSensor
	if err := json.Unmarshal(b, &rs); err != nil || rs.PID <= 0 {
		// A torn or foreign file says nothing; the audit PID check decides.
		return auditHolder{}, "", false, nil
	}
	h, err = findHolder(procRoot, uint32(rs.PID), sensorOutput)
	if err != nil {
		return auditHolder{}, "", false, err
	}
	if h.pid == 0 || !h.isSensor {
		return auditHolder{}, "", false, nil
	}
	return h, rs.Mode, true, nil
}
