package echorpc

import (
	"encoding"
	"encoding/json"

	jsonv2 "github.com/go-json-experiment/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// schema is a JSON Schema (draft 2020-12), as much of it as Go types need.
type schema struct {
	Ref                  string             `json:"$ref,omitempty"`
	Type                 string             `json:"type,omitempty"`
	Format               string             `json:"format,omitempty"`
	ContentEncoding      string             `json:"contentEncoding,omitempty"`
	Minimum              *int               `json:"minimum,omitempty"`
	Items                *schema            `json:"items,omitempty"`
	MinItems             *int               `json:"minItems,omitempty"`
	MaxItems             *int               `json:"maxItems,omitempty"`
	Properties           map[string]*schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	PropertyNames        *schema            `json:"propertyNames,omitempty"`
	Pattern              string             `json:"pattern,omitempty"`
	AdditionalProperties *schema            `json:"additionalProperties,omitempty"`
	AnyOf                []*schema          `json:"anyOf,omitempty"`

	order []string // property names in encoding/json's order, for TypeScript
}

var (
	timeType          = reflect.TypeFor[time.Time]()
	rawMessageType    = reflect.TypeFor[json.RawMessage]()
	numberType        = reflect.TypeFor[json.Number]()
	durationType      = reflect.TypeFor[time.Duration]()
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	zero              = 0
)

// schemaGen turns Go types into schemas as encoding/json/v2 encodes them.
// Named struct types become definitions, referenced by name, so recursive
// types terminate.
type schemaGen struct {
	defs  map[string]*schema
	names map[reflect.Type]string
}

func newSchemaGen() *schemaGen {
	return &schemaGen{defs: map[string]*schema{}, names: map[reflect.Type]string{}}
}

// hasOwnEncoding reports whether t encodes itself (a JSON marshaler), and
// textual whether it does so as a string (a text marshaler).
func hasOwnEncoding(t reflect.Type) (own, textual bool) {
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
func (g *schemaGen) of(t reflect.Type) *schema { return g.ofField(t, false) }

// ofField returns the schema of t, with numbers quoted as the ",string"
// option of encoding/json/v2 quotes them (in t and in its elements).
func (g *schemaGen) ofField(t reflect.Type, stringify bool) *schema {
	if t == nil {
		return &schema{}
	}
	switch {
	case t == timeType:
		return &schema{Type: "string", Format: "date-time"}
	case t == rawMessageType:
		return &schema{}
	case t == numberType:
		return &schema{Type: "number"}
	}
	if own, textual := hasOwnEncoding(t); own {
		if textual {
			return &schema{Type: "string"}
		}
		return &schema{} // its own encoding: unknown here
	}
	switch t.Kind() {
	case reflect.Pointer:
		return &schema{AnyOf: []*schema{g.ofField(t.Elem(), stringify), {Type: "null"}}}
	case reflect.Bool:
		return &schema{Type: "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if stringify {
			return &schema{Type: "string", Pattern: "^-?[0-9]+$"}
		}
		s := &schema{Type: "integer"}
		if t.Kind() >= reflect.Uint {
			s.Minimum = &zero
		}
		if t.Bits() > 53 {
			s.Format = "int64"
			if t.Kind() >= reflect.Uint {
				s.Format = "uint64"
			}
		}
		return s
	case reflect.Float32, reflect.Float64:
		if stringify {
			return &schema{Type: "string"}
		}
		return &schema{Type: "number"}
	case reflect.String:
		return &schema{Type: "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			if own, _ := hasOwnEncoding(t.Elem()); !own {
				return &schema{Type: "string", ContentEncoding: "base64"}
			}
		}
		s := &schema{Type: "array", Items: g.ofField(t.Elem(), stringify)}
		if t.Kind() == reflect.Array {
			n := t.Len()
			s.MinItems, s.MaxItems = &n, &n
		}
		return s
	case reflect.Map:
		s := &schema{Type: "object", AdditionalProperties: g.ofField(t.Elem(), stringify)}
		k := t.Key()
		switch {
		case k.Kind() == reflect.String, k.Implements(textMarshalerType):
		case k.Kind() >= reflect.Int && k.Kind() <= reflect.Int64:
			s.PropertyNames = &schema{Pattern: "^-?[0-9]+$"}
		case k.Kind() >= reflect.Uint && k.Kind() <= reflect.Uintptr:
			s.PropertyNames = &schema{Pattern: "^[0-9]+$"}
		}
		return s
	case reflect.Struct:
		if t.Name() == "" {
			return g.object(t)
		}
		return &schema{Ref: "#/$defs/" + g.define(t)}
	default: // interfaces: any value
		return &schema{}
	}
}

// unencodable says why JSON cannot carry values of t ("" when it can): a
// channel, function, complex number, unsafe pointer or time.Duration
// (which encoding/json/v2 has no default form for) anywhere in it, or a
// map whose keys cannot be names.
func unencodable(t reflect.Type) string {
	return unencodableIn(t, "", map[reflect.Type]bool{})
}

func unencodableIn(t reflect.Type, at string, seen map[reflect.Type]bool) string {
	if t == nil || seen[t] {
		return ""
	}
	seen[t] = true
	where := func() string {
		if at == "" {
			return ""
		}
		return " (at " + at + ")"
	}
	if t == durationType {
		return "type " + t.String() + where() + " has no JSON form in encoding/json/v2: use an integer or a string"
	}
	if own, _ := hasOwnEncoding(t); own {
		return ""
	}
	switch t.Kind() {
	case reflect.Chan, reflect.Func, reflect.Complex64, reflect.Complex128, reflect.UnsafePointer:
		return "type " + t.String() + where() + " cannot be carried by JSON"
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return unencodableIn(t.Elem(), at+"[]", seen)
	case reflect.Map:
		k := t.Key()
		if k.Kind() != reflect.String && !(k.Kind() >= reflect.Int && k.Kind() <= reflect.Uintptr) && !k.Implements(textMarshalerType) {
			return "map key type " + k.String() + where() + " cannot be a JSON name"
		}
		return unencodableIn(t.Elem(), at+"[]", seen)
	case reflect.Struct:
		for _, f := range jsonFields(t) {
			if why := unencodableIn(f.typ, strings.TrimPrefix(at+"."+f.name, "."), seen); why != "" {
				return why
			}
		}
		// What else encoding/json/v2 refuses in a struct (a malformed
		// tag, two fields of one name) shows on its zero value.
		if _, err := jsonv2.Marshal(reflect.New(t).Interface()); err != nil {
			return "type " + t.String() + where() + " cannot be encoded: " + err.Error()
		}
	}
	return ""
}

// define makes t a definition and returns its name.
func (g *schemaGen) define(t reflect.Type) string {
	if name, ok := g.names[t]; ok {
		return name
	}
	base := identifier(t.Name())
	name := base
	for i := 2; g.defs[name] != nil; i++ {
		name = base + strconv.Itoa(i)
	}
	g.names[t] = name
	g.defs[name] = &schema{} // placeholder, so recursion finds the name
	*g.defs[name] = *g.object(t)
	return name
}

// object is the schema of a struct's fields.
func (g *schemaGen) object(t reflect.Type) *schema {
	s := &schema{Type: "object", Properties: map[string]*schema{}}
	for _, f := range jsonFields(t) {
		fs := g.ofField(f.typ, f.quoted)
		s.Properties[f.name] = fs
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

// jsonField is a struct field as encoding/json encodes it.
type jsonField struct {
	name     string
	typ      reflect.Type
	optional bool // omitempty or omitzero
	quoted   bool // the ",string" option: numbers in the value are quoted
	index    []int
}

// jsonFields lists the fields encoding/json encodes for struct type t,
// following its rules: exported fields, json tags, "-", embedded structs
// promoted with the shallowest (or only tagged) field winning a name, and
// ambiguous names dropped.
func jsonFields(t reflect.Type) []jsonField {
	type candidate struct {
		jsonField
		depth  int
		tagged bool
	}
	type level struct {
		typ   reflect.Type
		index []int
		// optional is set below an embedded pointer: its fields are
		// left out when it is nil.
		optional bool
	}
	var all []candidate
	current := []level{{typ: t}}
	visited := map[reflect.Type]bool{}
	for depth := 0; len(current) > 0; depth++ {
		var next []level
		count := map[reflect.Type]int{}
		for _, l := range current {
			count[l.typ]++
		}
		for _, l := range current {
			if visited[l.typ] {
				continue
			}
			visited[l.typ] = true
			for i := 0; i < l.typ.NumField(); i++ {
				sf := l.typ.Field(i)
				ft := sf.Type
				if sf.Anonymous {
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !validTagName(name) {
					name = ""
				}
				index := append(slices.Clip(l.index), i)
				inline := strings.Contains(","+opts+",", ",inline,") || name == "" && sf.Anonymous
				if own, _ := hasOwnEncoding(ft); inline && ft.Kind() == reflect.Struct && !own {
					next = append(next, level{typ: ft, index: index, optional: l.optional || sf.Type.Kind() == reflect.Pointer})
					continue
				}
				f := candidate{depth: depth, tagged: name != ""}
				f.name = name
				if f.name == "" {
					f.name = sf.Name
				}
				f.typ = sf.Type
				f.index = index
				f.optional = l.optional
				for _, o := range strings.Split(opts, ",") {
					switch o {
					case "omitempty", "omitzero":
						f.optional = true
					case "string":
						f.quoted = true
					}
				}
				all = append(all, f)
				if count[l.typ] > 1 {
					all = append(all, f) // embedded twice at one depth: annihilates
				}
			}
		}
		current = next
	}

	// Keep the dominant field of each name.
	byName := map[string][]candidate{}
	var names []string
	for _, f := range all {
		if _, seen := byName[f.name]; !seen {
			names = append(names, f.name)
		}
		byName[f.name] = append(byName[f.name], f)
	}
	var out []jsonField
	for _, name := range names {
		fs := byName[name]
		minDepth := fs[0].depth
		for _, f := range fs {
			minDepth = min(minDepth, f.depth)
		}
		var shallow, tagged []candidate
		for _, f := range fs {
			if f.depth == minDepth {
				shallow = append(shallow, f)
				if f.tagged {
					tagged = append(tagged, f)
				}
			}
		}
		switch {
		case len(shallow) == 1:
			out = append(out, shallow[0].jsonField)
		case len(tagged) == 1:
			out = append(out, tagged[0].jsonField)
		}
	}
	slices.SortFunc(out, func(a, b jsonField) int { return slices.Compare(a.index, b.index) })
	return out
}

// validTagName is encoding/json's rule for a usable name in a tag.
func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}
