package describe

import (
	"reflect"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
)

// Unencodable says why JSON cannot carry values of t ("" when it can): a
// channel, function, complex number, unsafe pointer or time.Duration
// (which encoding/json/v2 has no default form for) anywhere in it, or a
// map whose keys cannot be names.
func Unencodable(t reflect.Type) string {
	return unencodableIn(t, "", map[reflect.Type]bool{})
}

func unencodableIn(t reflect.Type, at string, seen map[reflect.Type]bool) string {
	if t == nil || seen[t] {
		return ""
	}
	seen[t] = true
	if t == durationType {
		return "type " + t.String() + where(at) + " has no JSON form in encoding/json/v2: use an integer or a string"
	}
	if own, _ := ownEncoding(t); own {
		return ""
	}
	switch t.Kind() {
	case reflect.Chan, reflect.Func, reflect.Complex64, reflect.Complex128, reflect.UnsafePointer:
		return "type " + t.String() + where(at) + " cannot be carried by JSON"
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return unencodableIn(t.Elem(), at+"[]", seen)
	case reflect.Map:
		if k := t.Key(); !nameKey(k) {
			return "map key type " + k.String() + where(at) + " cannot be a JSON name"
		}
		return unencodableIn(t.Elem(), at+"[]", seen)
	case reflect.Struct:
		return unencodableStruct(t, at, seen)
	}
	return ""
}

// unencodableStruct says why JSON cannot carry values of struct type t.
func unencodableStruct(t reflect.Type, at string, seen map[reflect.Type]bool) string {
	for _, f := range fields(t) {
		if why := unencodableIn(f.typ, strings.TrimPrefix(at+"."+f.name, "."), seen); why != "" {
			return why
		}
	}
	// What else encoding/json/v2 refuses in a struct (a malformed tag, two
	// fields of one name) shows on its zero value.
	if _, err := jsonv2.Marshal(reflect.New(t).Interface()); err != nil {
		return "type " + t.String() + where(at) + " cannot be encoded: " + err.Error()
	}
	return ""
}

// nameKey reports whether map keys of type k can be JSON names: strings,
// integers and text marshalers.
func nameKey(k reflect.Type) bool {
	return k.Kind() == reflect.String || k.Kind() >= reflect.Int && k.Kind() <= reflect.Uintptr || k.Implements(textMarshalerType)
}

// where names the place in a type that a message is about.
func where(at string) string {
	if at == "" {
		return ""
	}
	return " (at " + at + ")"
}
