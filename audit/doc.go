// Package audit speaks the Linux kernel audit subsystem: it installs the
// sensor's audit rules over a NETLINK_AUDIT control socket, receives records
// on a separate data socket, reassembles the records of one syscall event
// (SYSCALL, EXECVE, CWD, PATH, PROCTITLE, SOCKADDR, EOE) and turns them into
// typed events: Exec and Connect.
//
// Rule text goes through go-libaudit's parser and builder; record parsing is
// a narrow hand-written scanner (no regexp) because it is on the hot path and
// because go-libaudit v2.6.2 mis-parses long and split EXECVE arguments.
package audit
