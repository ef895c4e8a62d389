package api

import (
	"encoding/json"
	"math"
	"net/http/httptest"
	"strconv"
	"testing"
)

func TestPage(t *testing.T) {
	items := []string{"a", "b", "c", "d", "e"}
	tests := []struct {
		desc     string
		items    []string
		query    string
		code     int
		want     []string
		nextPage string
	}{
		{desc: "everything by default", items: items, query: "", code: 200, want: items, nextPage: "1"},
		{desc: "first page of two", items: items, query: "per_page=3", code: 200, want: []string{"a", "b", "c"}, nextPage: "2"},
		{desc: "last page", items: items, query: "per_page=3&page=2", code: 200, want: []string{"d", "e"}, nextPage: "1"},
		{desc: "beyond the last page", items: items, query: "per_page=3&page=3", code: 400},
		{desc: "search filters", items: items, query: "search=C", code: 200, want: []string{"c"}, nextPage: "1"},
		{desc: "empty list, first page", items: nil, query: "", code: 200, want: []string{}, nextPage: "1"},
		{desc: "empty list, second page", items: nil, query: "page=2", code: 400},
		{desc: "huge page does not overflow", items: items, query: "page=" + strconv.Itoa(math.MaxInt), code: 400},
		{desc: "huge per_page does not overflow", items: items, query: "per_page=" + strconv.Itoa(math.MaxInt), code: 200, want: items, nextPage: "1"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			w := httptest.NewRecorder()
			page(w, httptest.NewRequest("GET", "/api/x?"+tc.query, nil), tc.items, func(s string) (string, string) { return s, "enabled" })
			if w.Code != tc.code {
				t.Fatalf("code %d, want %d: %s", w.Code, tc.code, w.Body)
			}
			if tc.code != 200 {
				return
			}
			var got []string
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
			if h := w.Header().Get("X-Next-Page"); h != tc.nextPage {
				t.Fatalf("X-Next-Page %q, want %q", h, tc.nextPage)
			}
		})
	}
}
