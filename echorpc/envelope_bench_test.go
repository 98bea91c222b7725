package echorpc

import (
	"bytes"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// BenchmarkEnvelopeParse measures our envelope scanner against the same
// work done with encoding/json/v2's jsontext (strict: duplicate names and
// invalid UTF-8 refused), to decide whether the scanner can go:
//
//	go test -run '^$' -bench EnvelopeParse -benchmem ./echorpc
func BenchmarkEnvelopeParse(b *testing.B) {
	body := []byte(`{"weerpc": 1.1, "function": "add_numbers", "data": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}`)
	b.Run("scanner", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseRequest(body, 64); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jsontext", func(b *testing.B) {
		b.ReportAllocs()
		dec := jsontext.NewDecoder(bytes.NewReader(nil))
		for b.Loop() {
			dec.Reset(bytes.NewReader(body))
			if _, err := dec.ReadToken(); err != nil { // {
				b.Fatal(err)
			}
			var r request
			for dec.PeekKind() != '}' {
				name, err := dec.ReadValue()
				if err != nil {
					b.Fatal(err)
				}
				v, err := dec.ReadValue()
				if err != nil {
					b.Fatal(err)
				}
				switch string(name) {
				case `"function"`:
					r.name = v[1 : len(v)-1]
				case `"data"`:
					r.data = v
				case `"weerpc"`:
					r.versionOK = isNumber(v, "1.1", 1.1)
				}
			}
			if _, err := dec.ReadToken(); err != nil { // }
				b.Fatal(err)
			}
		}
	})
}
