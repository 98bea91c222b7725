package describe

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Schema is a JSON Schema (draft 2020-12), as much of it as Go types need.
type Schema struct {
	Ref                  string             `json:"$ref,omitempty"`
	Type                 string             `json:"type,omitempty"`
	Format               string             `json:"format,omitempty"`
	ContentEncoding      string             `json:"contentEncoding,omitempty"`
	Enum                 []any              `json:"enum,omitempty"`
	Minimum              *float64           `json:"minimum,omitempty"`
	Maximum              *float64           `json:"maximum,omitempty"`
	MinLength            *int               `json:"minLength,omitempty"`
	MaxLength            *int               `json:"maxLength,omitempty"`
	Items                *Schema            `json:"items,omitempty"`
	MinItems             *int               `json:"minItems,omitempty"`
	MaxItems             *int               `json:"maxItems,omitempty"`
	Properties           map[string]*Schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	PropertyNames        *Schema            `json:"propertyNames,omitempty"`
	Pattern              string             `json:"pattern,omitempty"`
	AdditionalProperties *Schema            `json:"additionalProperties,omitempty"`
	AnyOf                []*Schema          `json:"anyOf,omitempty"`

	order []string // property names in encoding/json's order, for TypeScript
	def   string   // the definition a Ref names
}

func (*Schema) schemaNode() {}

var (
	timeType          = reflect.TypeFor[time.Time]()
	rawMessageType    = reflect.TypeFor[json.RawMessage]()
	numberType        = reflect.TypeFor[json.Number]()
	durationType      = reflect.TypeFor[time.Duration]()
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	zero              = 0.0
)

// Refs to definitions: the manifest keeps them in $defs, an OpenAPI
// document in components.schemas.
const (
	defsRef       = "#/$defs/"
	componentsRef = "#/components/schemas/"
)

// generator turns Go types into schemas as encoding/json/v2 encodes them.
// Named struct types become definitions, referenced by name, so recursive
// types terminate.
type generator struct {
	file  reflect.Type // the type that stands for a file; nil for none
	ref   string       // the prefix of a definition's Ref
	defs  map[string]*Schema
	names map[reflect.Type]string
}

func newGenerator(ref string, file reflect.Type) *generator {
	return &generator{ref: ref, file: file, defs: map[string]*Schema{}, names: map[reflect.Type]string{}}
}

// binaryFormat marks a file's schema: a string of bytes, sent as a part of
// its own (or, for an answer, as the reply's body).
const binaryFormat = "binary"

// ownEncoding reports whether t encodes itself (a JSON marshaler), and
// textual whether it does so as a string (a text marshaler).
func ownEncoding(t reflect.Type) (own, textual bool) {
	if t.Kind() == reflect.Pointer {
		return false, false
	}
	pt := reflect.PointerTo(t)
	switch {
	case t.Implements(marshalerType) || pt.Implements(marshalerType):
		return true, false
	case t.Implements(textMarshalerType) || pt.Implements(textMarshalerType):
		return true, true
	}
	return false, false
}

// of returns the schema of t; nil t (an untyped handler) is any value.
func (g *generator) of(t reflect.Type) *Schema { return g.field(t, false) }

// field returns the schema of t, with numbers quoted as the ",string"
// option of encoding/json/v2 quotes them (in t and in its elements).
func (g *generator) field(t reflect.Type, quoted bool) *Schema {
	if t == nil {
		return &Schema{}
	}
	t = describedAs(t)
	if t == g.file && t != nil {
		return &Schema{Type: "string", Format: binaryFormat}
	}
	if s := known(t); s != nil {
		return s
	}
	switch t.Kind() {
	case reflect.Pointer:
		return &Schema{AnyOf: []*Schema{g.field(t.Elem(), quoted), {Type: "null"}}}
	case reflect.Bool:
		return &Schema{Type: "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return integer(t, quoted)
	case reflect.Float32, reflect.Float64:
		if quoted {
			return &Schema{Type: "string"}
		}
		return &Schema{Type: "number"}
	case reflect.String:
		return &Schema{Type: "string"}
	case reflect.Slice, reflect.Array:
		return g.list(t, quoted)
	case reflect.Map:
		return g.dictionary(t, quoted)
	case reflect.Struct:
		if t.Name() == "" {
			return g.object(t)
		}
		name := g.define(t)
		return &Schema{Ref: g.ref + name, def: name}
	default: // interfaces: any value
		return &Schema{}
	}
}

// known is the schema of a type that encoding/json/v2 encodes its own way
// (time, raw JSON, numbers, marshalers), or nil.
func known(t reflect.Type) *Schema {
	switch t {
	case timeType:
		return &Schema{Type: "string", Format: "date-time"}
	case rawMessageType:
		return &Schema{}
	case numberType:
		return &Schema{Type: "number"}
	}
	own, textual := ownEncoding(t)
	switch {
	case textual:
		return &Schema{Type: "string"}
	case own:
		return &Schema{} // its own encoding: unknown here
	}
	return nil
}

// integer is the schema of an integer kind: a string of digits when
// quoted, and marked int64 or uint64 when JavaScript cannot hold it.
func integer(t reflect.Type, quoted bool) *Schema {
	if quoted {
		return &Schema{Type: "string", Pattern: "^-?[0-9]+$"}
	}
	s := &Schema{Type: "integer"}
	unsigned := t.Kind() >= reflect.Uint
	if unsigned {
		s.Minimum = &zero
	}
	if t.Bits() > 53 {
		s.Format = "int64"
		if unsigned {
			s.Format = "uint64"
		}
	}
	return s
}

// list is the schema of a slice or an array; bytes are base64.
func (g *generator) list(t reflect.Type, quoted bool) *Schema {
	if t.Elem().Kind() == reflect.Uint8 {
		if own, _ := ownEncoding(t.Elem()); !own {
			return &Schema{Type: "string", ContentEncoding: "base64"}
		}
	}
	s := &Schema{Type: "array", Items: g.field(t.Elem(), quoted)}
	if t.Kind() == reflect.Array {
		n := t.Len()
		s.MinItems, s.MaxItems = &n, &n
	}
	return s
}

// dictionary is the schema of a map: an object whose names are its keys.
func (g *generator) dictionary(t reflect.Type, quoted bool) *Schema {
	s := &Schema{Type: "object", AdditionalProperties: g.field(t.Elem(), quoted)}
	k := t.Key()
	switch {
	case k.Kind() == reflect.String, k.Implements(textMarshalerType):
	case k.Kind() >= reflect.Int && k.Kind() <= reflect.Int64:
		s.PropertyNames = &Schema{Pattern: "^-?[0-9]+$"}
	case k.Kind() >= reflect.Uint && k.Kind() <= reflect.Uintptr:
		s.PropertyNames = &Schema{Pattern: "^[0-9]+$"}
	}
	return s
}

// define makes t a definition and returns its name.
func (g *generator) define(t reflect.Type) string {
	if name, ok := g.names[t]; ok {
		return name
	}
	base := identifier(t.Name())
	name := base
	for i := 2; g.defs[name] != nil; i++ {
		name = base + strconv.Itoa(i)
	}
	g.names[t] = name
	g.defs[name] = &Schema{} // placeholder, so recursion finds the name
	*g.defs[name] = *g.object(t)
	return name
}

// object is the schema of a struct's fields.
func (g *generator) object(t reflect.Type) *Schema {
	s := &Schema{Type: "object", Properties: map[string]*Schema{}}
	for _, f := range fields(t) {
		s.Properties[f.name] = constrain(g.field(f.typ, f.quoted), f.validate)
		s.order = append(s.order, f.name)
		if !f.optional {
			s.Required = append(s.Required, f.name)
		}
	}
	return s
}

// identifier turns a Go type name (perhaps generic: "Page[main.Item]") into
// an identifier.
func identifier(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
			b.WriteByte('_')
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}

// describer is a type that is sent as another type's JSON, already encoded
// (topic.Encoded[T], say): it is described as that type.
type describer interface{ DescribedAs() reflect.Type }

// describedAs is the type t is described as: its DescribedAs, or t.
func describedAs(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Struct && t.Implements(reflect.TypeFor[describer]()) {
		if d := reflect.Zero(t).Interface().(describer).DescribedAs(); d != nil {
			return d
		}
	}
	return t
}
