package describe

import (
	"strconv"
	"strings"
)

// constrain adds to s what a field's validate tag (go-playground/validator's
// rules, as Echo's usual e.Validator reads them) says of its values, in JSON
// Schema's words: oneof as enum; min, max, gte, lte and len as minimum and
// maximum for a number, minLength and maxLength for a string, minItems and
// maxItems for an array. The rules before a "dive" are the field's own; the
// rest, and rules it does not know, are left out. s is copied, not changed:
// a schema may be shared (a definition's $ref, a known type).
func constrain(s *Schema, tag string) *Schema {
	if tag == "" || s.Ref != "" {
		return s
	}
	own, _, _ := strings.Cut(tag, ",dive")
	if own == "dive" || strings.HasPrefix(own, "dive,") {
		return s
	}
	out := *s
	target := &out
	if len(out.AnyOf) == 2 && out.AnyOf[1].Type == "null" { // a pointer: the rules are the value's
		inner := *out.AnyOf[0]
		out.AnyOf = []*Schema{&inner, out.AnyOf[1]}
		target = &inner
	}
	for _, rule := range strings.Split(own, ",") {
		name, param, _ := strings.Cut(rule, "=")
		switch name {
		case "oneof":
			target.Enum = enum(target.Type, param)
		case "min", "gte":
			bound(target, param, true)
		case "max", "lte":
			bound(target, param, false)
		case "len":
			bound(target, param, true)
			bound(target, param, false)
		}
	}
	return &out
}

// enum is oneof's space-separated values as values of type t: numbers for
// a number, the words for a string; nil when a value does not fit.
func enum(t, param string) []any {
	var values []any
	for _, word := range strings.Fields(param) {
		switch t {
		case "string":
			values = append(values, strings.Trim(word, "'"))
		case "integer", "number":
			n, err := strconv.ParseFloat(word, 64)
			if err != nil {
				return nil
			}
			values = append(values, n)
		default:
			return nil
		}
	}
	return values
}

// bound sets s's lower (or upper) limit from a rule's parameter, in the
// keyword that s's type gives it.
func bound(s *Schema, param string, lower bool) {
	switch s.Type {
	case "integer", "number":
		n, err := strconv.ParseFloat(param, 64)
		if err != nil {
			return
		}
		if lower {
			s.Minimum = &n
		} else {
			s.Maximum = &n
		}
	case "string", "array":
		n, err := strconv.Atoi(param)
		if err != nil || n < 0 {
			return
		}
		switch {
		case s.Type == "string" && lower:
			s.MinLength = &n
		case s.Type == "string":
			s.MaxLength = &n
		case lower:
			s.MinItems = &n
		default:
			s.MaxItems = &n
		}
	}
}
