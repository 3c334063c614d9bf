// Package debtest tests the aptsentinel .deb on this machine: it builds the
// package from the checkout with packaging/build-deb.sh, inspects it with
// dpkg-deb, installs, upgrades, removes and purges it with the real apt and
// dpkg, and runs the installed sensor the way its systemd unit does against
// the real kernel, a real apt hook and a real journald (the running one, or
// one journaltest starts): its logs and alerts are read back from the
// journal, as an administrator would read them. The installed selftest runs
// against that sensor and on its own, and a removal cleans up after a
// sensor killed with SIGKILL.
//
// The tests need root, dpkg, apt, go, git and systemd-journald with
// journalctl, hold the audit test lock while they run, and change the
// machine's package state: every test that installs purges the package
// again, also when it fails. They refuse to run when aptsentinel is already installed,
// so that they never remove an installation they did not make.
package debtest
