package echorpc

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
)

// The fast path must give json/v2's result for everything it takes on,
// and leave the rest to json/v2.
func TestFastDecoderAgreesWithJSONv2(t *testing.T) {
	inputs := []string{
		`[1,2,3]`, ` [ 1.5 , -2e3 ,0 ] `, `[]`, `[ ]`, `null`, `[1e400]`, `[-0]`, `["a"]`, `[1,"a"]`,
		`[[1,2]]`, `[{"a":1}]`, `1`, ` -12 `, `1.5`, `1e2`, `9223372036854775808`, `"x"`, `"a\"b"`,
		`"a,b"`, `["a,b","c"]`, `["a","b"]`, `["x\",\"y"]`, `true`, `false`, `{}`, `"\u00e9"`, `[true]`,
	}
	check := func(name string, decode func(data []byte) (fast, slow any, took bool, slowErr error)) {
		for _, in := range inputs {
			fast, slow, took, slowErr := decode([]byte(in))
			if !took {
				continue
			}
			if slowErr != nil {
				t.Errorf("%s: fast path took %s, which json/v2 refuses: %v", name, in, slowErr)
				continue
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Errorf("%s %s: fast %#v, json/v2 %#v", name, in, fast, slow)
			}
		}
	}
	check("[]float64", agree[[]float64])
	check("[]int", agree[[]int])
	check("[]int64", agree[[]int64])
	check("[]string", agree[[]string])
	check("float64", agree[float64])
	check("int", agree[int])
	check("int64", agree[int64])
	check("string", agree[string])
	check("bool", agree[bool])
	if fastDecoder[struct{ A int }]() != nil || fastDecoder[[]any]() != nil {
		t.Error("the fast path takes on a type it does not know")
	}
}

func agree[T any](data []byte) (fast, slow any, took bool, slowErr error) {
	var f, s T
	took = fastDecoder[T]()(data, &f)
	slowErr = jsonv2.Unmarshal(data, &s, decodeOptions[0])
	return f, s, took, slowErr
}

func BenchmarkFastDecoder(b *testing.B) {
	data := []byte(`[1,2,3,4,5,6,7,8,9,10]`)
	fast := fastDecoder[[]float64]()
	b.Run("fast", func(b *testing.B) {
		for range b.N {
			var v []float64
			fast(data, &v)
		}
	})
	b.Run("jsonv2", func(b *testing.B) {
		for range b.N {
			var v []float64
			_ = jsonv2.Unmarshal(data, &v, decodeOptions[0])
		}
	})
}

// appendPlain must write what json/v2 writes with the reply's options.
func TestAppendPlainAgreesWithJSONv2(t *testing.T) {
	values := []any{0.0, math.Copysign(0, -1), 1.0, 0.1, 1e-6, 1e-7, 123456789.125, 1e20, 1e21, 1.5e300, -2.5e-300,
		5e-324, math.MaxFloat64, 100.0, 1 / 3.0, 12, -7, int64(math.MinInt64), true, false}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		values = append(values, math.Float64frombits(r.Uint64()), r.NormFloat64()*math.Pow(10, float64(r.IntN(60)-30)))
	}
	for _, v := range values {
		want, err := jsonv2.Marshal(v, encodeOptions)
		got, ok := appendPlain(nil, v)
		if err != nil {
			if ok {
				t.Errorf("%v: appendPlain wrote %s, json/v2 refuses it", v, got)
			}
			continue
		}
		if !ok || string(got) != string(want) {
			t.Errorf("%#v: appendPlain %q (%v), json/v2 %q", v, got, ok, want)
		}
	}
	if _, ok := appendPlain(nil, "s"); ok {
		t.Error("appendPlain took a string")
	}
}
