package didyoumean

import "testing"

func TestDistance(t *testing.T) {
	tests := []struct {
		desc string
		a, b string
		want int
	}{
		{desc: "equal", a: "host", b: "host", want: 0},
		{desc: "one substitution", a: "hast", b: "host", want: 1},
		{desc: "transposition counts once", a: "hots", b: "host", want: 1},
		{desc: "deletion", a: "adress", b: "address", want: 1},
		{desc: "empty", a: "", b: "abc", want: 3},
		{desc: "too long is never close", a: string(make([]byte, 65)), b: "a", want: 1 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := Distance(tc.a, tc.b); got != tc.want {
				t.Fatalf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestClosest(t *testing.T) {
	tests := []struct {
		desc  string
		word  string
		cands []string
		want  string
	}{
		{desc: "typo", word: "adress", cands: []string{"address", "asDefault"}, want: "address"},
		{desc: "case-insensitive", word: "STRIPPREFX", cands: []string{"stripPrefix", "headers"}, want: "stripPrefix"},
		{desc: "too far", word: "foo", cands: []string{"address"}, want: ""},
		{desc: "short words need an exact match", word: "ab", cands: []string{"ac"}, want: ""},
		{desc: "closest wins", word: "hedaers", cands: []string{"headers", "header"}, want: "headers"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := Closest(tc.word, tc.cands); got != tc.want {
				t.Fatalf("Closest(%q) = %q, want %q", tc.word, got, tc.want)
			}
		})
	}
}
