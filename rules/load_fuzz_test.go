package rules

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseFile: no rule file panics the loader; every error is a
// FileError whose line lies inside the file.
func FuzzParseFile(f *testing.F) {
	files, err := ShippedFiles()
	if err != nil {
		f.Fatal(err)
	}
	for _, b := range files {
		f.Add(string(b))
	}
	f.Add(upstreamShape)
	f.Add("[rule]\nrule_id = \"x\"\nname = \"n\"\nquery = \"\"\"\nprocess where \\\n  process.name == \\u0022a\\u0022\"\"\"\n")
	f.Add("disable = [\"a\"]\n[[exception]]\nrule_id = \"a\"\ncondition = '''process.name : \"x*\"'''\n")
	f.Fuzz(func(t *testing.T, src string) {
		_, err := ParseFile("f.toml", []byte(src))
		if err == nil {
			return
		}
		var fe *FileError
		if !errors.As(err, &fe) {
			t.Fatalf("error %v is not a FileError", err)
		}
		if lines := strings.Count(src, "\n") + 1; fe.Line < 0 || fe.Line > lines+1 {
			t.Fatalf("error %v: line outside the file's %d lines", err, lines)
		}
	})
}

// FuzzEventFromECS: no document panics the ECS reader.
func FuzzEventFromECS(f *testing.F) {
	f.Add(`{"@timestamp":"2026-03-24T12:00:00Z","event":{"category":["process"]},"process":{"pid":1,"args":["a"]}}`)
	f.Add(`{"@timestamp":"2026-03-24T12:00:00Z","event.action":"connection_attempted","destination.ip":"::1","destination.port":"80"}`)
	f.Fuzz(func(t *testing.T, doc string) {
		ev, err := EventFromECS([]byte(doc))
		if err == nil && (ev.Action == "" || ev.Category() == "") {
			t.Fatalf("accepted a document without an event type: %s", doc)
		}
	})
}
