package reftest

import (
	"fmt"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/eql"
)

// The sequence join with alternatives (aptsentinel's extension: `by a or
// b`, or a multi-valued field, on a step after the first) checked against
// a plain reference: a map from key to the latest first event, and a
// second-step event joins, in the order of its values, every pending
// sequence one of its values names, inside maxspan (inclusive), once.

// sevent is the reference's event of a sequence stream.
type sevent struct {
	idx  int // position in the stream
	cat  string
	at   time.Time
	host string
	id   string
	name string
	anc  []string
}

var seqSchema = eql.Schema[sevent]{
	Fields: map[string]eql.Field[sevent]{
		"host.id":              eql.StringField(func(e *sevent) string { return e.host }),
		"process.name":         eql.StringField(func(e *sevent) string { return e.name }),
		"process.entity_id":    eql.StringField(func(e *sevent) string { return e.id }),
		"process.Ext.ancestry": eql.StringsField(func(e *sevent) []string { return e.anc }),
	},
	Categories: []string{"process", "network"},
	Category:   func(e *sevent) string { return e.cat },
	Time:       func(e *sevent) time.Time { return e.at },
}

var (
	idPool   = []string{"", "a", "b", "c", "d"}
	hostPool = []string{"h1", "h2"}
	// joinForms are the second step's key: which values, in which order.
	joinForms = []struct {
		by     string
		values func(e *sevent) []string
	}{
		{"process.entity_id or process.Ext.ancestry", func(e *sevent) []string { return append([]string{e.id}, e.anc...) }},
		{"process.Ext.ancestry or process.entity_id", func(e *sevent) []string { return append(append([]string{}, e.anc...), e.id) }},
		{"process.Ext.ancestry", func(e *sevent) []string { return e.anc }},
	}
)

type pair struct{ first, last int }

// refSequence is the reference evaluator of
//
//	sequence by host.id with maxspan=span
//	  [process where process.name == "sh"] by process.entity_id
//	  [network where true] by <values>
//
// over events in time order.
func refSequence(events []*sevent, span time.Duration, values func(*sevent) []string) []pair {
	type key struct{ host, id string }
	pending := map[key]*sevent{}
	var out []pair
	for _, e := range events {
		switch e.cat {
		case "network":
			if e.host == "" {
				continue
			}
			for _, v := range values(e) {
				k := key{e.host, v}
				p := pending[k]
				if v == "" || p == nil || e.at.Before(p.at) || e.at.Sub(p.at) > span {
					continue
				}
				out = append(out, pair{p.idx, e.idx})
				delete(pending, k)
			}
		case "process":
			if e.name == "sh" && e.id != "" && e.host != "" {
				pending[key{e.host, e.id}] = e
			}
		}
	}
	return out
}

func genStream(g *gen) []*sevent {
	n := 2 + g.next(14)
	at := time.Date(2026, 3, 24, 12, 0, 0, 0, time.UTC)
	var out []*sevent
	for i := range n {
		at = at.Add(time.Duration(g.next(4)) * time.Second)
		e := &sevent{idx: i, at: at, host: hostPool[g.next(len(hostPool))], id: idPool[g.next(len(idPool))]}
		if g.next(2) == 0 {
			e.cat, e.name = "process", []string{"sh", "curl"}[g.next(2)]
		} else {
			e.cat = "network"
			for range g.next(4) {
				e.anc = append(e.anc, idPool[g.next(len(idPool))])
			}
		}
		out = append(out, e)
	}
	return out
}

func FuzzSequenceJoinAnyAgainstReference(f *testing.F) {
	f.Add([]byte{0, 1, 8, 0, 0, 0, 1, 0, 1, 1, 1, 2, 1, 1, 1, 0, 1, 1})
	f.Add([]byte{1, 2, 12, 1, 0, 1, 0, 0, 2, 1, 0, 1, 1, 3, 2, 1, 3, 0, 1, 1, 1, 1, 1, 0, 2, 3, 3})
	f.Add([]byte{2, 0, 10, 0, 0, 3, 0, 0, 0, 3, 0, 2, 1, 0, 3, 1, 1, 3, 3, 0, 0, 1, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 3 {
			return
		}
		form := joinForms[int(data[0])%len(joinForms)]
		span := time.Duration(1+int(data[1])%3) * time.Second
		events := genStream(&gen{b: data[2:]})
		src := fmt.Sprintf(`sequence by host.id with maxspan=%s
		  [process where process.name == "sh"] by process.entity_id
		  [network where true] by %s`, span, form.by)
		q, err := eql.Compile(src, seqSchema)
		if err != nil {
			t.Fatalf("compile %q: %v", src, err)
		}
		r, err := eql.NewRunner([]*eql.Query[sevent]{q}, eql.RunnerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		var got []pair
		for _, e := range events {
			for _, m := range r.Process(e) {
				got = append(got, pair{m.Events[0].idx, m.Events[1].idx})
			}
		}
		want := refSequence(events, span, form.values)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			for _, e := range events {
				t.Logf("%d +%v %s host=%s id=%q name=%q anc=%q", e.idx, e.at.Sub(events[0].at), e.cat, e.host, e.id, e.name, e.anc)
			}
			t.Fatalf("%s\n engine %v\n reference %v", src, got, want)
		}
	})
}
