package describe

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"
)

type (
	Point struct {
		X int `json:"x"`
		Y int `json:"y"`
	}
	Named struct {
		Name string `json:"name"`
	}
	Other struct {
		Name string `json:"name"`
		Kind string
	}
	Labelled struct {
		Name string // untagged: loses to a tagged name at its depth
	}
	Deep struct {
		Point     // depth 2 below Outer: loses to the shallower x
		Z     int `json:"z"`
	}
	hidden struct {
		Secret string `json:"secret"` // promoted from an unexported embedded struct
	}
	Outer struct {
		*Point
		Deep
		hidden
		X    string `json:"x"`
		Skip int    `json:"-"`
		//lint:ignore SA5008 the odd tag is under test: encoding/json names the field "-"
		Dash     int    `json:"-,"`
		Quoted   int64  `json:"quoted,string"`
		Optional string `json:"optional,omitempty"`
		Zero     int    `json:"zero,omitzero"`
		//lint:ignore SA5008 the odd tag is under test: encoding/json ignores the name
		BadTag  int `json:"a\"b"`
		private int
	}
	// TaggedWins has one tagged and one untagged "Name" at one depth.
	TaggedWins struct {
		Labelled
		Tagged
	}
	Tagged struct {
		Name string `json:"Name"`
	}
)

// annihilatedType embeds two structs that give "name" at one depth, both
// tagged: neither is encoded. (Built at run time: go vet refuses such a
// type in source.)
var annihilatedType = reflect.StructOf([]reflect.StructField{
	{Name: "Named", Type: reflect.TypeFor[Named](), Anonymous: true},
	{Name: "Other", Type: reflect.TypeFor[Other](), Anonymous: true},
})

// keys returns the names encoding/json writes for v, in its order.
func keys(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	var out []string
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return out
		}
		switch tok := tok.(type) {
		case json.Delim:
			if tok == '{' || tok == '[' {
				depth++
			} else {
				depth--
			}
		case string:
			if depth == 1 {
				out = append(out, tok)
				// skip the value
				var raw json.RawMessage
				if err := d.Decode(&raw); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// fields names exactly the keys encoding/json writes, in its order.
func TestFieldsAreEncodingJSONs(t *testing.T) {
	outer := Outer{Point: &Point{X: 1, Y: 2}, Deep: Deep{Point: Point{X: 3, Y: 4}, Z: 5}, hidden: hidden{Secret: "s"},
		X: "x", Skip: 1, Dash: 2, Quoted: 3, Optional: "o", Zero: 4, BadTag: 5, private: 6}
	annihilated := reflect.New(annihilatedType).Elem()
	annihilated.Field(0).Set(reflect.ValueOf(Named{"a"}))
	annihilated.Field(1).Set(reflect.ValueOf(Other{"b", "k"}))
	for _, v := range []any{outer, annihilated.Interface(), TaggedWins{Labelled{"a"}, Tagged{"b"}}, Point{}, struct{}{}} {
		t.Run(reflect.TypeOf(v).String(), func(t *testing.T) {
			var names []string
			for _, f := range fields(reflect.TypeOf(v)) {
				names = append(names, f.name)
			}
			if want := keys(t, v); !slices.Equal(names, want) {
				t.Errorf("fields = %q, encoding/json writes %q", names, want)
			}
		})
	}
}

func TestFieldOptions(t *testing.T) {
	got := map[string]field{}
	for _, f := range fields(reflect.TypeFor[Outer]()) {
		got[f.name] = f
	}
	for name, want := range map[string]struct{ optional, quoted bool }{
		"x": {}, "quoted": {quoted: true}, "optional": {optional: true}, "zero": {optional: true},
		"y": {optional: true}, // below an embedded pointer: absent when it is nil
		"z": {}, "secret": {},
	} {
		f, ok := got[name]
		if !ok {
			t.Errorf("%s: missing", name)
			continue
		}
		if f.optional != want.optional || f.quoted != want.quoted {
			t.Errorf("%s: optional %v quoted %v, want %v %v", name, f.optional, f.quoted, want.optional, want.quoted)
		}
	}
	if f := got["y"]; !slices.Equal(f.index, []int{0, 1}) {
		t.Errorf("y's index = %v, want [0 1]", f.index)
	}
}

func TestUnencodable(t *testing.T) {
	type withChan struct {
		C chan int `json:"c"`
	}
	type withDuration struct {
		Items []struct {
			D time.Duration `json:"d"`
		} `json:"items"`
	}
	for _, tt := range []struct {
		typ    reflect.Type
		expect string
	}{
		{reflect.TypeFor[Deep](), ""},
		{reflect.TypeFor[map[int]Point](), ""},
		{reflect.TypeFor[withChan](), "type chan int (at c) cannot be carried by JSON"},
		{reflect.TypeFor[withDuration](), "type time.Duration (at items[].d) has no JSON form in encoding/json/v2: use an integer or a string"},
		{reflect.TypeFor[map[Point]int](), "map key type describe.Point cannot be a JSON name"},
		{reflect.TypeFor[func()](), "type func() cannot be carried by JSON"},
	} {
		if got := Unencodable(tt.typ); got != tt.expect {
			t.Errorf("%v: %q, want %q", tt.typ, got, tt.expect)
		}
	}
}
