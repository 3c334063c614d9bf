// Package debtest tests the aptsentinel .deb on this machine: it builds the
// package from the checkout with packaging/build-deb.sh, inspects it with
// dpkg-deb, installs, upgrades, removes and purges it with the real apt and
// dpkg, and runs the installed sensor the way its systemd unit does against
// the real kernel and a real apt hook.
//
// The tests need root, dpkg, apt, go and git, and change the machine's
// package state: every test that installs purges the package again, also
// when it fails. They refuse to run when aptsentinel is already installed,
// so that they never remove an installation they did not make.
package debtest
