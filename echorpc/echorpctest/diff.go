package echorpctest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// manifest is the part of a description the contract check reads.
type manifest struct {
	Functions []function                 `json:"functions"`
	Defs      map[string]json.RawMessage `json:"$defs"`
}

type function struct {
	Name       string          `json:"name"`
	Idempotent bool            `json:"idempotent"`
	Stream     bool            `json:"stream"`
	Files      bool            `json:"files"`
	Download   bool            `json:"download"`
	Query      bool            `json:"query"`
	Rules      *rules          `json:"rules"`
	Input      json.RawMessage `json:"input"`
	Output     json.RawMessage `json:"output"`
}

type rules struct {
	Session []string `json:"session"`
	Host    bool     `json:"host"`
	Remote  bool     `json:"remote"`
}

// diff gathers the changes between two descriptions.
type diff struct {
	breaking, additive []string
	was, now           map[string]json.RawMessage // each side's $defs
	seen               map[[3]string]bool         // refs compared, against cycles
}

func (d *diff) breaks(format string, args ...any) {
	d.breaking = append(d.breaking, fmt.Sprintf(format, args...))
}

func (d *diff) adds(format string, args ...any) {
	d.additive = append(d.additive, fmt.Sprintf(format, args...))
}

// functions compares the functions of two descriptions, by name.
func (d *diff) functions(was, now *manifest) {
	d.was, d.now, d.seen = was.Defs, now.Defs, map[[3]string]bool{}
	byName := map[string]*function{}
	for i := range now.Functions {
		byName[now.Functions[i].Name] = &now.Functions[i]
	}
	old := map[string]bool{}
	for i := range was.Functions {
		a := &was.Functions[i]
		old[a.Name] = true
		b, ok := byName[a.Name]
		if !ok {
			d.breaks("%s: function removed (or renamed)", a.Name)
			continue
		}
		d.function(a, b)
	}
	for _, f := range now.Functions {
		if !old[f.Name] {
			d.adds("%s: function added", f.Name)
		}
	}
}

// function compares one function's kind, rules, input and output.
func (d *diff) function(a, b *function) {
	kinds := []struct {
		name     string
		was, now bool
		widening bool // turning it on breaks no caller
	}{
		{"streams", a.Stream, b.Stream, false},
		{"takes files", a.Files, b.Files, false},
		{"answers a file", a.Download, b.Download, false},
		{"is a query", a.Query, b.Query, true},
		{"is idempotent", a.Idempotent, b.Idempotent, true},
	}
	for _, k := range kinds {
		switch {
		case k.was == k.now:
		case k.now && k.widening:
			d.adds("%s: now %s", a.Name, k.name)
		case k.now:
			d.breaks("%s: kind changed: now %s", a.Name, k.name)
		default:
			d.breaks("%s: kind changed: no longer %s", a.Name, k.name)
		}
	}
	d.rules(a.Name, a.Rules, b.Rules)
	d.schema(a.Name+": input", a.Input, b.Input, true)
	d.schema(a.Name+": output", a.Output, b.Output, false)
}

// rules compares the rules that guard a function: one added breaks the
// callers it now refuses.
func (d *diff) rules(name string, a, b *rules) {
	if a == nil {
		a = &rules{}
	}
	if b == nil {
		b = &rules{}
	}
	for _, key := range b.Session {
		if !slices.Contains(a.Session, key) {
			d.breaks("%s: rule added: the session key %q", name, key)
		}
	}
	for _, key := range a.Session {
		if !slices.Contains(b.Session, key) {
			d.adds("%s: rule removed: the session key %q", name, key)
		}
	}
	for _, r := range []struct {
		kind     string
		was, now bool
	}{{"a host rule", a.Host, b.Host}, {"an address rule", a.Remote, b.Remote}} {
		switch {
		case r.now && !r.was:
			d.breaks("%s: rule added: %s", name, r.kind)
		case r.was && !r.now:
			d.adds("%s: rule removed: %s", name, r.kind)
		}
	}
}

// schema is a JSON Schema, decoded.
type schema map[string]any

// schema compares the schemas at a path. In the input (what callers send)
// the new schema must accept everything the old one did; in the output
// (what callers read) it must produce nothing the old one could not.
func (d *diff) schema(at string, was, now json.RawMessage, input bool) {
	a, b := d.decode(was), d.decode(now)
	d.compare(at, a, b, input)
}

func (d *diff) decode(raw json.RawMessage) schema {
	var s schema
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil || s == nil {
		return schema{}
	}
	return s
}

// resolve follows a schema's $ref into its side's $defs.
func (d *diff) resolve(s schema, defs map[string]json.RawMessage) (schema, string) {
	ref, _ := s["$ref"].(string)
	if ref == "" {
		return s, ""
	}
	name := ref[strings.LastIndex(ref, "/")+1:]
	return d.decode(defs[name]), name
}

func (d *diff) compare(at string, a, b schema, input bool) {
	a, aref := d.resolve(a, d.was)
	b, bref := d.resolve(b, d.now)
	if aref != "" && bref != "" {
		key := [3]string{aref, bref, fmt.Sprint(input)}
		if d.seen[key] {
			return // a recursive type, compared already
		}
		d.seen[key] = true
	}
	ta, tb := alternatives(a), alternatives(b)
	if input {
		// every kind of value the old input took, the new must take
		for _, x := range ta {
			if y := matching(x, tb); y == nil {
				d.breaks("%s: type narrowed: %s no longer accepted", at, describeType(x))
			} else {
				d.constraints(at, x, y, true)
			}
		}
		return
	}
	// every kind of value the new output gives, the old must have given
	for _, y := range tb {
		if x := matching(y, ta); x == nil {
			d.breaks("%s: type changed: it may now be %s", at, describeType(y))
		} else {
			d.constraints(at, x, y, false)
		}
	}
}

// alternatives flattens a schema into the kinds of value it allows: the
// members of its anyOf, each with one type ("" for any value).
func alternatives(s schema) []schema {
	if members, ok := s["anyOf"].([]any); ok {
		var all []schema
		for _, m := range members {
			if ms, ok := m.(map[string]any); ok {
				all = append(all, alternatives(ms)...)
			}
		}
		return all
	}
	if types, ok := s["type"].([]any); ok {
		var all []schema
		for _, t := range types {
			one := schema{}
			for k, v := range s {
				one[k] = v
			}
			one["type"] = t
			all = append(all, one)
		}
		return all
	}
	return []schema{s}
}

func typeOf(s schema) string {
	if _, ref := s["$ref"]; ref {
		return "object"
	}
	t, _ := s["type"].(string)
	return t
}

// matching returns the alternative of among that takes every value x
// describes (an integer is a number; any value takes all), or nil.
func matching(x schema, among []schema) schema {
	tx := typeOf(x)
	var wider schema
	for _, y := range among {
		switch ty := typeOf(y); {
		case ty == tx:
			return y
		case ty == "" || ty == "number" && tx == "integer":
			wider = y
		}
	}
	return wider
}

func describeType(s schema) string {
	switch t := typeOf(s); t {
	case "":
		return "any value"
	case "null":
		return "null"
	case "integer", "object", "array":
		return "an " + t
	default:
		return "a " + t
	}
}

// constraints compares two schemas of one kind of value: limits, enums,
// formats, then the properties of objects and the items of arrays.
func (d *diff) constraints(at string, a, b schema, input bool) {
	if ta, tb := typeOf(a), typeOf(b); ta != tb {
		// matching paired them: the wider side takes any value, or is a
		// number where the other is an integer, which narrows nothing
		if input && ta == "integer" && tb == "number" {
			d.limits(at, a, b)
		}
		return
	}
	d.enum(at, a, b, input)
	if fa, fb := a["format"], b["format"]; fa != fb {
		d.breaks("%s: format changed from %v to %v", at, orNone(fa), orNone(fb))
	}
	if input {
		d.limits(at, a, b)
	}
	switch typeOf(a) {
	case "object":
		d.object(at, a, b, input)
	case "array":
		d.compare(at+"[]", sub(a, "items"), sub(b, "items"), input)
	}
}

func orNone(v any) any {
	if v == nil {
		return "none"
	}
	return v
}

func sub(s schema, key string) schema {
	m, _ := s[key].(map[string]any)
	return m
}

// enum compares the values an enum allows. In the input, a value removed
// (or an enum added) refuses what callers send; in the output, any change
// breaks: a value removed fails the callers that send back what they read,
// and a value added is one they do not know.
func (d *diff) enum(at string, a, b schema, input bool) {
	ea, hasA := a["enum"].([]any)
	eb, hasB := b["enum"].([]any)
	switch {
	case !hasA && !hasB:
		return
	case !hasA:
		if input {
			d.breaks("%s: enum added: only %s accepted", at, values(eb))
		} else {
			d.adds("%s: enum added: %s", at, values(eb))
		}
		return
	case !hasB:
		if input {
			d.adds("%s: enum removed: any value accepted", at)
		} else {
			d.breaks("%s: enum removed: it may now be any value", at)
		}
		return
	}
	for _, v := range ea {
		if !containsValue(eb, v) {
			d.breaks("%s: enum value %s removed", at, jsonText(v))
		}
	}
	for _, v := range eb {
		if !containsValue(ea, v) {
			if input {
				d.adds("%s: enum value %s added", at, jsonText(v))
			} else {
				d.breaks("%s: enum value %s added, which callers do not know", at, jsonText(v))
			}
		}
	}
}

func containsValue(vs []any, v any) bool {
	return slices.ContainsFunc(vs, func(x any) bool { return jsonText(x) == jsonText(v) })
}

func values(vs []any) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = jsonText(v)
	}
	return strings.Join(s, ", ")
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// limits compares an input's bounds: a lower bound raised (or added), an
// upper bound lowered (or added), or a pattern added or changed refuses
// values callers sent.
func (d *diff) limits(at string, a, b schema) {
	for _, key := range []string{"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"} {
		va, okA := a[key].(float64)
		vb, okB := b[key].(float64)
		if okB && (!okA || vb > va) {
			d.breaks("%s: %s raised to %v", at, key, vb)
		}
	}
	for _, key := range []string{"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"} {
		va, okA := a[key].(float64)
		vb, okB := b[key].(float64)
		if okB && (!okA || vb < va) {
			d.breaks("%s: %s lowered to %v", at, key, vb)
		}
	}
	if pb, ok := b["pattern"].(string); ok && pb != a["pattern"] {
		d.breaks("%s: pattern changed to %q", at, pb)
	}
}

// object compares two objects' properties, and their other values (a
// map's additionalProperties).
func (d *diff) object(at string, a, b schema, input bool) {
	pa, pb := sub(a, "properties"), sub(b, "properties")
	ra, rb := required(a), required(b)
	closed := b["additionalProperties"] == false
	for _, name := range propertyNames(pa, pb) {
		field := at + "." + name
		xa, inA := pa[name].(map[string]any)
		xb, inB := pb[name].(map[string]any)
		switch {
		case !inA:
			d.fieldAdded(field, input, rb[name])
		case !inB:
			d.fieldRemoved(field, input, closed)
		default:
			if input && rb[name] && !ra[name] {
				d.breaks("%s: input field made required", field)
			}
			if !input && ra[name] && !rb[name] {
				d.breaks("%s: output field made optional: callers may find it absent", field)
			}
			d.compare(field, xa, xb, input)
		}
	}
	if input && closed && a["additionalProperties"] != false {
		d.breaks("%s: unknown fields now refused", at)
	}
	xa, okA := a["additionalProperties"].(map[string]any)
	xb, okB := b["additionalProperties"].(map[string]any)
	if okA && okB {
		d.compare(at+"{}", xa, xb, input)
	}
}

// propertyNames returns the names of the properties of either side, sorted.
func propertyNames(pa, pb map[string]any) []string {
	names := make([]string, 0, len(pa)+len(pb))
	for name := range pa {
		names = append(names, name)
	}
	for name := range pb {
		if _, ok := pa[name]; !ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// fieldAdded judges a field that only the new side has: breaking only as a
// required input field.
func (d *diff) fieldAdded(field string, input, required bool) {
	switch {
	case input && required:
		d.breaks("%s: input field added as required", field)
	case input:
		d.adds("%s: optional input field added", field)
	default:
		d.adds("%s: output field added", field)
	}
}

// fieldRemoved judges a field that only the old side has: breaking in the
// output, and in an input that refuses unknown fields.
func (d *diff) fieldRemoved(field string, input, closed bool) {
	switch {
	case input && closed:
		d.breaks("%s: input field removed, and unknown fields are refused", field)
	case input:
		d.adds("%s: input field removed (callers that send it are not refused)", field)
	default:
		d.breaks("%s: output field removed", field)
	}
}

func required(s schema) map[string]bool {
	names := map[string]bool{}
	list, _ := s["required"].([]any)
	for _, n := range list {
		if name, ok := n.(string); ok {
			names[name] = true
		}
	}
	return names
}
