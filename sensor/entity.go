package sensor

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
)

// EntityID returns the ECS process.entity_id of the process with this pid and
// start time (clock ticks since boot, /proc/<pid>/stat field 22) on the boot
// with this boot id.
//
// A fork makes a new (pid, start time) pair, an exec keeps both, and a reused
// pid comes with a later start time, so the id is new on fork, the same across
// exec and unique across pid reuse — the properties Elastic Defend's entity_id
// has. The boot id keeps ids from different boots apart. The pid namespace is
// not an input: the audit subsystem and the proc connector both report pids
// of the initial namespace, so there is only one namespace to name.
func EntityID(bootID string, pid int, startTicks uint64) string {
	buf := make([]byte, 0, len(bootID)+2+20+20)
	buf = append(buf, bootID...)
	buf = append(buf, '/')
	buf = strconv.AppendInt(buf, int64(pid), 10)
	buf = append(buf, '/')
	buf = strconv.AppendUint(buf, startTicks, 10)
	sum := sha256.Sum256(buf)
	// 18 bytes (144 bits) encode to 24 characters without padding: ample
	// against collisions among the processes of one host.
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}
