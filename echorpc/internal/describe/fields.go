package describe

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
	"unicode"
)

// field is a struct field as encoding/json encodes it.
type field struct {
	name     string
	typ      reflect.Type
	optional bool   // omitempty or omitzero
	quoted   bool   // the ",string" option: numbers in the value are quoted
	validate string // the validate tag (go-playground/validator's rules), if any
	index    []int
}

// candidate is a field that may give its name to the encoding, unless a
// shallower (or the only tagged) field of the same name wins.
type candidate struct {
	field
	depth  int
	tagged bool
}

// level is a struct whose fields are encoded as if they were the outer
// struct's: the outer struct itself, or one embedded or inlined in it.
type level struct {
	typ   reflect.Type
	index []int
	// optional is set below an embedded pointer: its fields are left out
	// when it is nil.
	optional bool
}

// fields lists the fields encoding/json encodes for struct type t,
// following its rules: exported fields, json tags, "-", embedded structs
// promoted with the shallowest (or only tagged) field winning a name, and
// ambiguous names dropped.
func fields(t reflect.Type) []field {
	return dominant(candidates(t))
}

// candidates lists every field of t and of the structs embedded in it,
// breadth first. A struct embedded twice at one depth yields its fields
// twice, so that they annihilate.
func candidates(t reflect.Type) []candidate {
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
				f, inner, ok := l.field(i, depth)
				switch {
				case !ok:
				case inner != nil:
					next = append(next, *inner)
				case count[l.typ] > 1:
					all = append(all, f, f)
				default:
					all = append(all, f)
				}
			}
		}
		current = next
	}
	return all
}

// field reads field i of l: a field that is encoded, or a struct whose
// fields are encoded in its place (inner). ok is false for a field that is
// not encoded at all.
func (l level) field(i, depth int) (f candidate, inner *level, ok bool) {
	sf := l.typ.Field(i)
	name, options, ok := jsonTag(sf)
	if !ok {
		return f, nil, false
	}
	ft := embedded(sf)
	index := append(slices.Clip(l.index), i)
	inline := slices.Contains(options, "inline") || name == "" && sf.Anonymous
	if own, _ := ownEncoding(ft); inline && ft.Kind() == reflect.Struct && !own {
		return f, &level{typ: ft, index: index, optional: l.optional || sf.Type.Kind() == reflect.Pointer}, true
	}
	f = candidate{depth: depth, tagged: name != ""}
	f.name = cmp.Or(name, sf.Name)
	f.typ = sf.Type
	f.index = index
	f.optional = l.optional || slices.Contains(options, "omitempty") || slices.Contains(options, "omitzero")
	f.quoted = slices.Contains(options, "string")
	f.validate = sf.Tag.Get("validate")
	return f, nil, true
}

// embedded is the type of field sf, or for an embedded pointer the type it
// points to.
func embedded(sf reflect.StructField) reflect.Type {
	if sf.Anonymous && sf.Type.Kind() == reflect.Pointer {
		return sf.Type.Elem()
	}
	return sf.Type
}

// jsonTag reads the json tag of field sf: the name it gives ("" when it
// gives none that encoding/json accepts) and its options. ok is false when
// encoding/json leaves the field out: unexported (unless it embeds a
// struct), or tagged "-".
func jsonTag(sf reflect.StructField) (name string, options []string, ok bool) {
	if !sf.IsExported() && !(sf.Anonymous && embedded(sf).Kind() == reflect.Struct) {
		return "", nil, false
	}
	tag := sf.Tag.Get("json")
	if tag == "-" {
		return "", nil, false
	}
	name, opts, _ := strings.Cut(tag, ",")
	if !validTagName(name) {
		name = ""
	}
	return name, strings.Split(opts, ","), true
}

// dominant keeps, of the candidates of each name, the one that wins it
// (none when it is ambiguous), in the struct's field order.
func dominant(all []candidate) []field {
	byName := map[string][]candidate{}
	var names []string
	for _, f := range all {
		if _, seen := byName[f.name]; !seen {
			names = append(names, f.name)
		}
		byName[f.name] = append(byName[f.name], f)
	}
	var out []field
	for _, name := range names {
		if f, ok := winner(byName[name]); ok {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b field) int { return slices.Compare(a.index, b.index) })
	return out
}

// winner is the field that gives its name to the encoding: the only one
// at the shallowest depth, or the only tagged one there.
func winner(fs []candidate) (field, bool) {
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
		return shallow[0].field, true
	case len(tagged) == 1:
		return tagged[0].field, true
	}
	return field{}, false
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
