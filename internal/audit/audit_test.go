package audit

import (
	"errors"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/scope"
)

func chain(n int) []Event {
	var out []Event
	var prev []byte
	for i := 1; i <= n; i++ {
		e := Event{Seq: int64(i), Time: time.UnixMilli(int64(1000 * i)), Action: "a", Scope: scope.Scope{Account: "acc"}, Outcome: Success}
		e.Seal(prev)
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func verify(es []Event, headSeq int64, head []byte) error {
	v := NewVerifier()
	for _, e := range es {
		if err := v.Add(e); err != nil {
			return err
		}
	}
	_, err := v.Finish(headSeq, head)
	return err
}

func TestChain(t *testing.T) {
	es := chain(5)
	head := es[4].Hash
	if err := verify(es, 5, head); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func([]Event) ([]Event, int64){
		"edited":    func(e []Event) ([]Event, int64) { e[2].Detail = "x"; return e, 5 },
		"deleted":   func(e []Event) ([]Event, int64) { return append(e[:2], e[3:]...), 5 },
		"reordered": func(e []Event) ([]Event, int64) { e[1], e[2] = e[2], e[1]; return e, 5 },
		"truncated": func(e []Event) ([]Event, int64) { return e[:4], 5 },
		"resealed":  func(e []Event) ([]Event, int64) { e[4].Detail = "x"; e[4].Seal(e[3].Hash); return e, 5 },
	} {
		es := chain(5)
		got, seq := mutate(es)
		if err := verify(got, seq, head); !errors.Is(err, ErrBroken) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
