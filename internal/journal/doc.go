// Package journal writes entries to systemd-journald over its native
// protocol: one AF_UNIX datagram per entry to /run/systemd/journal/socket,
// each field "NAME=value\n", or NAME, a 64-bit little-endian length and the
// raw value when the value holds a newline or binary data. An entry too large
// for one datagram goes in a file (a sealed memfd, or on kernels before 3.17
// an unlinked file in /dev/shm) whose descriptor is passed with SCM_RIGHTS.
// See systemd's "Native Journal Protocol" document
// (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/) and journald-native.c.
//
// Above the wire format: a Spool that retries delivery from a bounded
// buffer when journald restarts or is briefly gone, a slog.Handler that
// writes log records as entries, and a check for other readers of the
// kernel's audit multicast group (journald itself copies every audit record
// into the journal when it reads that group).
package journal
