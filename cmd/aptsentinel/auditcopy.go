package main

import (
	"log/slog"

	"github.com/aptsentinel/aptsentinel/internal/journal"
)

// Measured on Debian 12 (systemd 252, Linux 6.18) with the sensor's rules
// installed, 1580 execs of /bin/true in 10 s: journald reading the audit
// multicast group added 12950 journal entries and 10.9 MB (journalctl -o
// export) to the journal; with no reader, none. See README.md, "Reading
// alerts in the journal".
const (
	auditCopyEntriesPer1000Execs = 8200
	auditCopyMBPer1000Execs      = 6.9
)

// warnAuditCopy logs a warning naming each process that reads the kernel
// audit multicast group: it gets (and journald stores) a copy of every
// record the sensor's rules make. The sensor changes nothing: whether audit
// records belong in the journal is the administrator's choice.
func warnAuditCopy(log *slog.Logger, procRoot string) {
	readers, err := journal.AuditMulticastReaders(procRoot)
	if err != nil {
		log.Debug("cannot list audit multicast readers", "err", err.Error())
		return
	}
	for _, r := range readers {
		if r.IsJournald() {
			log.Warn("systemd-journald copies every kernel audit record into the journal, the sensor's included",
				"pid", r.PID,
				"journal_entries_per_1000_execs", auditCopyEntriesPer1000Execs,
				"journal_mb_per_1000_execs", auditCopyMBPer1000Execs,
				"to_stop_it", "systemctl mask --now systemd-journald-audit.socket && systemctl restart systemd-journald")
			continue
		}
		log.Info("another process reads the kernel audit multicast group", "pid", r.PID, "comm", r.Comm)
	}
}
