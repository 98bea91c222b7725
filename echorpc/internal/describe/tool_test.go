package describe

import (
	"reflect"
	"testing"
	"time"
)

type toolNode struct {
	Name     string      `json:"name"`
	Children []*toolNode `json:"children"`
}

// A tool's schemas have an object at their top: a struct's own definition,
// or the value wrapped under "data" (required unless any value goes).
func TestToolSchemas(t *testing.T) {
	tests := []struct {
		name          string
		givenType     reflect.Type
		expectWrapped bool
		expectSchema  string
	}{
		{name: "struct", givenType: reflect.TypeFor[toolNode](),
			expectSchema: `{"type":"object","properties":{"children":{"type":"array","items":{"anyOf":[{"$ref":"#/$defs/toolNode"},{"type":"null"}]}},"name":{"type":"string"}},"required":["name","children"],"$defs":{"toolNode":{"type":"object","properties":{"children":{"type":"array","items":{"anyOf":[{"$ref":"#/$defs/toolNode"},{"type":"null"}]}},"name":{"type":"string"}},"required":["name","children"]}}}`},
		{name: "anonymous-struct", givenType: reflect.TypeFor[struct{}](), expectSchema: `{"type":"object"}`},
		{name: "map", givenType: reflect.TypeFor[map[string]int](),
			expectSchema: `{"type":"object","additionalProperties":{"type":"integer","format":"int64"}}`},
		{name: "pointer-to-struct", givenType: reflect.TypeFor[*struct{}](), expectWrapped: true,
			expectSchema: `{"type":"object","properties":{"data":{"anyOf":[{"type":"object"},{"type":"null"}]}},"required":["data"]}`},
		{name: "array", givenType: reflect.TypeFor[[]string](), expectWrapped: true,
			expectSchema: `{"type":"object","properties":{"data":{"type":"array","items":{"type":"string"}}},"required":["data"]}`},
		{name: "time", givenType: reflect.TypeFor[time.Time](), expectWrapped: true,
			expectSchema: `{"type":"object","properties":{"data":{"type":"string","format":"date-time"}},"required":["data"]}`},
		{name: "any", givenType: nil, expectWrapped: true,
			expectSchema: `{"type":"object","properties":{"data":{}}}`},
		{name: "interface", givenType: reflect.TypeFor[any](), expectWrapped: true,
			expectSchema: `{"type":"object","properties":{"data":{}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := NewToolSchemas(&Function{In: tt.givenType, Out: tt.givenType}, nil)
			if ts.InputWrapped != tt.expectWrapped || ts.OutputWrapped != tt.expectWrapped {
				t.Errorf("wrapped = %v, %v; want %v", ts.InputWrapped, ts.OutputWrapped, tt.expectWrapped)
			}
			if string(ts.Input) != tt.expectSchema || string(ts.Output) != tt.expectSchema {
				t.Errorf("schema =\n%s\nwant\n%s", ts.Input, tt.expectSchema)
			}
		})
	}
}
