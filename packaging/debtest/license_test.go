package debtest

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestLicense: the project is Apache-2.0 (issue 6). LICENSE at the root is
// the license's text (byte for byte Debian's copy in common-licenses,
// which is the text as the ASF publishes it), and the .deb's copyright file
// and nfpm.yaml's license field say Apache-2.0 for the project's own files.
func TestLicense(t *testing.T) {
	text, err := os.ReadFile(filepath.Join(repoRoot, "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	debian, err := os.ReadFile("/usr/share/common-licenses/Apache-2.0")
	if err != nil {
		t.Fatalf("Debian's base-files ships the license text: %v", err)
	}
	if !bytes.Equal(text, debian) {
		t.Error("LICENSE is not the Apache License 2.0 text of /usr/share/common-licenses/Apache-2.0")
	}

	// nfpm.yaml's license field (the package metadata nfpm writes for
	// formats that carry one) names the same license.
	nfpm, err := os.ReadFile(filepath.Join(repoRoot, "nfpm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got := "(none)"
	if m := regexp.MustCompile(`(?m)^license:[ \t]*(.*)$`).FindSubmatch(nfpm); m != nil {
		got = string(m[1])
	}
	if got != "Apache-2.0" {
		t.Errorf("nfpm.yaml's license field is %q, want Apache-2.0 (LICENSE)", got)
	}

	requireDebs(t)
	dir := t.TempDir()
	run(t, "dpkg-deb", "-x", debNew, dir)
	copyright, err := os.ReadFile(filepath.Join(dir, "usr/share/doc/aptsentinel/copyright"))
	if err != nil {
		t.Fatal(err)
	}
	own := regexp.MustCompile(`(?m)^Files: \*\nCopyright: [^\n]+\nLicense: (\S+)\n`).FindSubmatch(copyright)
	if own == nil || string(own[1]) != "Apache-2.0" {
		t.Errorf("the copyright file's Files: * stanza does not say License: Apache-2.0:\n%s", copyright)
	}
	if bytes.Contains(copyright, []byte("UNLICENSED")) {
		t.Error("the copyright file still says UNLICENSED")
	}
}
