package echorpc

import (
	"errors"
	"reflect"
	"regexp"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/labstack/echo/v4"
)

// How data crosses the wire: typed data is decoded, and every reply's data
// encoded, with encoding/json/v2 semantics (github.com/go-json-experiment/json,
// the standard library's encoding/json/v2 from Go 1.27):
//
//   - names match exactly, and a name repeated at any depth is refused;
//   - invalid UTF-8 is refused;
//   - unknown names are ignored unless refused (Config.RefuseUnknownFields,
//     [RefuseUnknownFields]);
//   - nil slices are sent as [] and nil maps as {}, so the published types
//     hold; maps are sent with sorted keys;
//   - strings are escaped for HTML and JavaScript, and invalid UTF-8 that a
//     handler puts in a reply is replaced by U+FFFD, as encoding/json v1 did.

// encodeOptions are the options of every reply's data.
var encodeOptions = json.JoinOptions(
	json.Deterministic(true),
	jsontext.EscapeForHTML(true),
	jsontext.EscapeForJS(true),
	jsontext.AllowInvalidUTF8(true), // replaced by U+FFFD, as v1 did
)

// decodeOptions are the options of typed data, by whether unknown names are
// refused.
var decodeOptions = [2]json.Options{
	json.RejectUnknownMembers(false),
	json.RejectUnknownMembers(true),
}

// decodeError turns a decoding failure into field errors.
func decodeError(err error) []FieldError {
	fe := FieldError{Rule: "syntax", Message: "is not valid JSON"}
	var se *json.SemanticError
	var ye *jsontext.SyntacticError
	switch {
	case errors.As(err, &se):
		fe.Path = pointerPath(string(se.JSONPointer))
		switch {
		case errors.Is(se.Err, json.ErrUnknownName):
			fe.Rule, fe.Message = "unknown", "is not a known field"
		case se.GoType != nil:
			kind := jsonKind(se.GoType)
			fe.Rule, fe.Param, fe.Message = "type", kind, "must be "+article(kind)
			if (kind == "integer" || kind == "number") && se.JSONKind == '0' {
				fe.Message = "must be " + article(kind) + " in range"
			}
		default:
			fe.Rule, fe.Message = "invalid", "cannot be decoded"
		}
	case errors.As(err, &ye):
		fe.Path = pointerPath(string(ye.JSONPointer))
		if errors.Is(ye.Err, jsontext.ErrDuplicateName) {
			fe.Rule, fe.Message = "duplicate", "is repeated"
		}
	}
	return []FieldError{fe}
}

// pointerPath turns a JSON Pointer ("/items/2/qty") into a dotted path
// ("items.2.qty"), cut as every echo of caller input is.
func pointerPath(p string) string {
	if p == "" {
		return ""
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range parts {
		parts[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(s)
	}
	return echoed(strings.Join(parts, "."))
}

// jsonKind names the JSON type that a Go type takes.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType):
		return "string"
	case isInteger(t):
		return "integer"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string"
		}
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return "value"
}

func isInteger(t reflect.Type) bool {
	return t.Kind() >= reflect.Int && t.Kind() <= reflect.Uintptr
}

func article(kind string) string {
	switch kind {
	case "integer", "array", "object":
		return "an " + kind
	}
	return "a " + kind
}

// validationError turns a validator's failure into the failure that
// answers it. A go-playground/validator ValidationErrors (Echo's usual
// e.Validator) gives one field error per field, with JSON names, found
// anywhere in err's chain: returned as is, wrapped, in an *echo.HTTPError's
// Internal or Message, or even flattened into its Message text as Echo's
// guide writes it (echo.NewHTTPError(400, err.Error())). Any other
// *echo.HTTPError is answered with its own status and message, and any
// other error keeps its text as the one field error's message.
func validationError(err error, in reflect.Type) *Error {
	if errs := playgroundErrors(err, in); errs != nil {
		return InvalidData(errs...)
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if errs := playgroundErrors(he.Internal, in); errs != nil {
			return InvalidData(errs...)
		}
		if m, isErr := he.Message.(error); isErr {
			if errs := playgroundErrors(m, in); errs != nil {
				return InvalidData(errs...)
			}
		}
		if m, isText := he.Message.(string); isText {
			if errs := playgroundText(m, in); errs != nil {
				return InvalidData(errs...)
			}
		}
		e, _ := answerOf(he)
		return e
	}
	if errs := playgroundText(err.Error(), in); errs != nil {
		return InvalidData(errs...)
	}
	return InvalidData(FieldError{Rule: "invalid", Message: strings.TrimSuffix(err.Error(), ".")})
}

// playgroundFieldError is the part of go-playground/validator's FieldError
// that field errors need, so that echorpc does not import it.
type playgroundFieldError interface {
	Tag() string
	Param() string
	StructNamespace() string
}

// playgroundErrors finds a go-playground/validator ValidationErrors (a
// slice of FieldError) in err's chain and maps it, or returns nil.
func playgroundErrors(err error, in reflect.Type) []FieldError {
	if err == nil {
		return nil
	}
	v := reflect.ValueOf(err)
	if v.Kind() != reflect.Slice || v.Len() == 0 {
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			return playgroundErrors(u.Unwrap(), in)
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if out := playgroundErrors(e, in); out != nil {
					return out
				}
			}
		}
		return nil
	}
	var out []FieldError
	for i := range v.Len() {
		f, ok := v.Index(i).Interface().(playgroundFieldError)
		if !ok {
			return nil
		}
		out = append(out, FieldError{
			Path:    wirePath(in, f.StructNamespace()),
			Rule:    f.Tag(),
			Param:   f.Param(),
			Message: ruleMessage(f.Tag(), f.Param()),
		})
	}
	return out
}

// playgroundLine is one line of a go-playground/validator
// ValidationErrors' text.
var playgroundLine = regexp.MustCompile(`^Key: '([^']*)' Error:Field validation for '[^']*' failed on the '([^']*)' tag$`)

// playgroundText maps the text of a go-playground/validator
// ValidationErrors (what err.Error() gives, one line per field) back to
// field errors, or returns nil when text is not such a text. The text has
// no rule parameters, so messages name the rule alone.
func playgroundText(text string, in reflect.Type) []FieldError {
	var out []FieldError
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		m := playgroundLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			return nil
		}
		out = append(out, FieldError{Path: wirePath(in, m[1]), Rule: m[2], Message: ruleMessage(m[2], "")})
	}
	return out
}

// wirePath maps a validator's Go namespace ("NewTodo.Items[2].Qty") onto
// the JSON names of t ("items.2.qty"): embedded structs add no name, and a
// field's name is its json tag's, as on the wire.
func wirePath(t reflect.Type, namespace string) string {
	segments := strings.Split(namespace, ".")
	if len(segments) > 0 {
		segments = segments[1:] // the root type's name
	}
	var path []string
	for _, seg := range segments {
		name, rest, _ := strings.Cut(seg, "[")
		t = deref(t)
		if t.Kind() == reflect.Struct {
			if sf, ok := t.FieldByName(name); ok {
				wire, inline := wireName(sf)
				if !inline {
					path = append(path, wire)
				}
				t = sf.Type
			} else {
				path = append(path, name)
			}
		}
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			path = append(path, idx)
			rest = strings.TrimPrefix(after, "[")
			if t = deref(t); t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
				t = t.Elem()
			}
		}
	}
	return echoed(strings.Join(path, "."))
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// wireName is a struct field's JSON name, and whether the field is inlined
// into its parent (an untagged embedded struct, or the inline option).
func wireName(sf reflect.StructField) (name string, inline bool) {
	tag := sf.Tag.Get("json")
	n, opts, _ := strings.Cut(tag, ",")
	if strings.Contains(","+opts+",", ",inline,") {
		return "", true
	}
	if n == "" && sf.Anonymous && deref(sf.Type).Kind() == reflect.Struct {
		return "", true
	}
	if n == "" {
		return sf.Name, false
	}
	return n, false
}

// ruleMessage says in words what a validator rule asks.
func ruleMessage(tag, param string) string {
	switch tag {
	case "required":
		return "is required"
	case "email":
		return "must be an email address"
	case "url":
		return "must be a URL"
	}
	if param == "" {
		return "must satisfy " + tag
	}
	if words, ok := ruleWords[tag]; ok {
		return words + param
	}
	return "must satisfy " + tag + "=" + param
}

// ruleWords says the rules with a parameter in words, before the parameter.
var ruleWords = map[string]string{
	"min": "must be at least ", "gte": "must be at least ",
	"max": "must be at most ", "lte": "must be at most ",
	"gt": "must be more than ", "lt": "must be less than ",
	"len": "must have length ", "oneof": "must be one of ",
}

// hasValidateTags reports whether t, or a type inside it, has a struct
// field with a validate tag: input that e.Validator is meant to check.
func hasValidateTags(t reflect.Type) bool {
	return typeReaches(t, nil, func(f reflect.StructField) bool {
		_, ok := f.Tag.Lookup("validate")
		return ok
	})
}

// typeReaches reports whether t, or a type that its values hold (through
// pointers, elements, map values and the exported fields that JSON
// carries), is one that match accepts, or has a struct field that field
// accepts. Either may be nil.
func typeReaches(t reflect.Type, match func(reflect.Type) bool, field func(reflect.StructField) bool) bool {
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type) bool
	walk = func(t reflect.Type) bool {
		if t == nil || seen[t] {
			return false
		}
		seen[t] = true
		if match != nil && match(t) {
			return true
		}
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
			return walk(t.Elem())
		case reflect.Struct:
			for i := range t.NumField() {
				f := t.Field(i)
				if !f.IsExported() || f.Tag.Get("json") == "-" {
					continue
				}
				if field != nil && field(f) || walk(f.Type) {
					return true
				}
			}
		}
		return false
	}
	return walk(t)
}
