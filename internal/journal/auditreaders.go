package journal

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Constants from the kernel's include/uapi/linux/netlink.h and audit.h.
const (
	netlinkAudit      = 9 // NETLINK_AUDIT
	auditNlgrpReadlog = 1 // AUDIT_NLGRP_READLOG: bit 0 of Groups
)

// AuditReader is a process that reads the kernel audit multicast group: it
// gets a copy of every audit record, the sensor's rules' records included.
// systemd-journald is one (through systemd-journald-audit.socket, or its
// own socket when started standalone) and writes each record to the
// journal.
type AuditReader struct {
	PID  int
	Comm string
}

// IsJournald reports whether the reader is systemd-journald (its comm,
// truncated to 15 characters by the kernel, is "systemd-journal").
func (r AuditReader) IsJournald() bool { return r.Comm == "systemd-journal" }

// AuditMulticastReaders lists the processes holding a NETLINK_AUDIT socket
// subscribed to AUDIT_NLGRP_READLOG, found from procRoot/net/netlink and the
// sockets in procRoot/PID/fd. Processes whose fds cannot be read are
// skipped.
func AuditMulticastReaders(procRoot string) ([]AuditReader, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, "net", "netlink"))
	if err != nil {
		return nil, fmt.Errorf("journal: audit readers: %w", err)
	}
	inodes, err := ParseAuditReaderInodes(b)
	if err != nil {
		return nil, err
	}
	if len(inodes) == 0 {
		return nil, nil
	}
	dirs, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, fmt.Errorf("journal: audit readers: %w", err)
	}
	var out []AuditReader
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid <= 0 {
			continue
		}
		if holdsSocket(filepath.Join(procRoot, d.Name(), "fd"), inodes) {
			comm, _ := os.ReadFile(filepath.Join(procRoot, d.Name(), "comm"))
			out = append(out, AuditReader{PID: pid, Comm: strings.TrimSpace(string(comm))})
		}
	}
	return out, nil
}

func holdsSocket(fdDir string, inodes []uint64) bool {
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
		if err != nil || !strings.HasPrefix(link, "socket:[") || !strings.HasSuffix(link, "]") {
			continue
		}
		ino, err := strconv.ParseUint(link[len("socket:["):len(link)-1], 10, 64)
		if err == nil && slices.Contains(inodes, ino) {
			return true
		}
	}
	return false
}

// ParseAuditReaderInodes returns the inodes of the audit multicast readers
// listed in the text of /proc/net/netlink (netlink_seq_show in
// net/netlink/af_netlink.c: "sk Eth Pid Groups Rmem Wmem Dump Locks Drops
// Inode", Groups the first 32 group bits in hex).
func ParseAuditReaderInodes(b []byte) ([]uint64, error) {
	var out []uint64
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if n == 1 {
			if len(f) < 10 || f[0] != "sk" || f[1] != "Eth" || f[3] != "Groups" || f[9] != "Inode" {
				return nil, fmt.Errorf("journal: /proc/net/netlink: unexpected header %q", sc.Text())
			}
			continue
		}
		if len(f) < 10 {
			return nil, fmt.Errorf("journal: /proc/net/netlink line %d: %d columns, want 10", n, len(f))
		}
		proto, err1 := strconv.Atoi(f[1])
		groups, err2 := strconv.ParseUint(f[3], 16, 32)
		ino, err3 := strconv.ParseUint(f[9], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("journal: /proc/net/netlink line %d: bad number in %q", n, sc.Text())
		}
		if proto == netlinkAudit && groups&auditNlgrpReadlog != 0 {
			out = append(out, ino)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("journal: /proc/net/netlink: %w", err)
	}
	return out, nil
}
