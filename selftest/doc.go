// Package selftest proves the whole detection chain on a host: kernel
// audit, a sensor, the rule and the alert output. It stages a program named
// "apt" whose "sh -c" hook has a child that connects out from a new, empty
// network namespace (trigger.go), and waits for the alert: from an
// in-process sensor started for the test (inprocess.go, driven by the
// sensor's Ready hook; beside auditd or any other audit PID holder it
// reads the multicast group, plan.go decides), or read back from the
// journal of the running service (journal.go), accepting only entries
// journald attributes to the sensor itself, so no local user can forge a
// pass.
//
// cmd/aptsentinel parses the flags and wires it: Run is `aptsentinel
// selftest`, RunStep the hidden steps of the staged chain, which re-runs
// the binary.
package selftest
