// Package notests is a fixture of .ci/skips's test: a package without
// tests, alone a run that tested nothing.
package notests

// Answer is here so the package has something.
const Answer = 42
