package statepool

import (
	"runtime"
	"testing"
	"time"
)

type state struct{ n int }

func TestGetShares(t *testing.T) {
	var p Pool[state]
	made := 0
	mk := func() *state { made++; return &state{} }
	a := p.Get("a", mk)
	a.n = 7
	if b := p.Get("a", mk); b != a || made != 1 {
		t.Fatalf("second Get of the same key made a new value (made %d)", made)
	}
	if c := p.Get("b", mk); c == a || made != 2 {
		t.Fatal("another key shared the value")
	}
	runtime.KeepAlive(a)
}

func TestCollectedValuesAreForgotten(t *testing.T) {
	var p Pool[state]
	func() {
		for _, k := range []string{"a", "b", "c"} {
			p.Get(k, func() *state { return &state{} })
		}
	}()
	// Cleanups run on their own goroutine after a collection; poll for
	// them rather than assume how soon they run.
	deadline := time.Now().Add(10 * time.Second)
	for p.Len() > 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	if n := p.Len(); n != 0 {
		t.Fatalf("%d entries remain after their values became unreachable", n)
	}
	// A key whose value was collected gets a fresh one.
	v := p.Get("a", func() *state { return &state{n: 1} })
	if v.n != 1 {
		t.Fatal("a collected value came back")
	}
}

func TestKey(t *testing.T) {
	type opts struct {
		A int
		B string
	}
	tests := []struct {
		desc       string
		n1, n2     string
		o1, o2     opts
		wantSameAs bool
	}{
		{desc: "same name and options", n1: "rl@file", n2: "rl@file", o1: opts{1, "x"}, o2: opts{1, "x"}, wantSameAs: true},
		{desc: "other options", n1: "rl@file", n2: "rl@file", o1: opts{1, "x"}, o2: opts{2, "x"}},
		{desc: "other name", n1: "rl@file", n2: "rl@docker", o1: opts{1, "x"}, o2: opts{1, "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := Key(tt.n1, tt.o1) == Key(tt.n2, tt.o2); got != tt.wantSameAs {
				t.Fatalf("keys equal: %v, want %v", got, tt.wantSameAs)
			}
		})
	}
}
