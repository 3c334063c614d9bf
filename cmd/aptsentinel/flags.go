package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aptsentinel/aptsentinel/audit"
)

// Every subcommand reads its command line the same way: --help writes the
// command's help (what it does, its flags with their defaults, an
// example) to stdout and exits 0; an unknown flag, a bad value or a stray
// argument is one line on stderr naming what is wrong, exit 2. The flag
// package would print its own message and then the whole usage on every
// mistake; newFlagSet silences it and parseFlags reports.

// newFlagSet returns the flag set of `aptsentinel NAME`; it prints nothing
// itself.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args into fs. It returns flag.ErrHelp for -h and
// --help, and a usageError for anything else wrong, including a
// positional argument when the command takes none.
func parseFlags(fs *flag.FlagSet, args []string, positional bool) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if !positional && fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q (%s takes only flags)", fs.Arg(0), fs.Name())}
	}
	return nil
}

// flagsDone ends a command whose parseFlags (or later check of the
// command line) failed: the help on stdout and 0 for flag.ErrHelp, else
// one line on stderr and 2.
func flagsDone(err error, name string, help func(io.Writer), stdout, stderr io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		help(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "aptsentinel %s: %v (see \"aptsentinel help %s\")\n", name, err, name)
	return 2
}

// writeHelp writes head, then every flag of fs as the README writes them
// (--name, its default, what it does), then tail.
func writeHelp(w io.Writer, fs *flag.FlagSet, head, tail string) {
	fmt.Fprint(w, head)
	fs.VisitAll(func(f *flag.Flag) {
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() && f.DefValue == "false" {
			fmt.Fprintf(w, "  --%s\n      %s\n", f.Name, f.Usage)
			return
		}
		fmt.Fprintf(w, "  --%s (default %q)\n      %s\n", f.Name, f.DefValue, f.Usage)
	})
	fmt.Fprint(w, tail)
}

// auditKeyFlag is --audit-key of run, status and cleanup: the key of the
// sensor's audit rules. It refuses, as the command line is parsed (and as
// run's config file is applied), a key the kernel would refuse or
// auditctl could not quote; audit.checkKey is the kernel's side.
type auditKeyFlag struct{ key *string }

func (f auditKeyFlag) String() string {
	if f.key == nil {
		return ""
	}
	return *f.key
}

func (f auditKeyFlag) Set(s string) error {
	if s == "" || len(s) > 256 || strings.ContainsAny(s, " \t\n\"'") {
		return errors.New("want 1-256 characters without spaces or quotes")
	}
	*f.key = s
	return nil
}

// auditKeyVar defines --audit-key on fs, stored in key, default
// audit.DefaultKey.
func auditKeyVar(fs *flag.FlagSet, key *string, usage string) {
	*key = audit.DefaultKey
	fs.Var(auditKeyFlag{key}, "audit-key", usage)
}

// checkRulesDir refuses a --rules-dir that is a file, and one that does
// not exist unless it is the default (a host without admin rules has no
// rules.d): a typo must not leave the admins' rules out unseen. what names
// the setting ("--rules-dir", or the config file's line).
func checkRulesDir(what, dir, def string) error {
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return usageError{fmt.Sprintf("%s %s: not a directory", what, dir)}
	case errors.Is(err, os.ErrNotExist) && dir == def:
		return nil
	case err != nil:
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return usageError{fmt.Sprintf("%s %s: %v", what, dir, err)}
	}
	return nil
}
