package describe

import (
	"encoding/json"
	"reflect"
)

// ToolSchemas are a function's input and output as a Model Context
// Protocol tool declares them (see echorpcmcp). MCP wants an object at the
// top of both schemas: a function whose data is an object takes the tool's
// arguments as its data, and one whose answer is always an object gives it
// as the tool's structured content; any other value (an array, a string,
// an object that may be null, any value at all) travels under the key
// [ToolDataKey], and the Wrapped flags say so. Each schema carries the
// definitions it refers to in its own $defs.
type ToolSchemas struct {
	Input, Output               json.RawMessage
	InputWrapped, OutputWrapped bool
}

// ToolDataKey is the key a wrapped value travels under.
const ToolDataKey = "data"

// NewToolSchemas returns f's tool schemas; file is the type that stands for
// a file (Instance.FileType).
func NewToolSchemas(f *Function, file reflect.Type) ToolSchemas {
	var ts ToolSchemas
	ts.Input, ts.InputWrapped = toolSchema(f.In, file)
	ts.Output, ts.OutputWrapped = toolSchema(f.Out, file)
	return ts
}

// toolSchema is the schema of t with an object at its top: t's own when it
// is one (a named struct's definition is put at the top), and otherwise an
// object with t's schema under ToolDataKey.
func toolSchema(t, file reflect.Type) (json.RawMessage, bool) {
	g := newGenerator(defsRef, file)
	s := g.of(t)
	top := s
	if s.Ref != "" && g.defs[s.def] != nil {
		top = g.defs[s.def]
	}
	wrapped := top.Type != "object"
	if wrapped {
		top = &Schema{Type: "object", Properties: map[string]*Schema{ToolDataKey: s}}
		if t != nil && t.Kind() != reflect.Interface { // any value may be absent
			top.Required = []string{ToolDataKey}
		}
	}
	root := struct {
		*Schema
		Defs map[string]*Schema `json:"$defs,omitempty"`
	}{top, g.defs}
	b, err := json.Marshal(root)
	if err != nil { // a Schema always encodes
		panic("describe: " + err.Error())
	}
	return b, wrapped
}
