package h1

import "testing"

func BenchmarkParseRequest(b *testing.B) {
	head := benchRequest
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		rs := new(reqState)
		var ph parsedHead
		if err := parseRequest(rs, head, &ph); err != nil {
			b.Fatal(err)
		}
	}
}
