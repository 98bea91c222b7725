package describe

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// Every $ref of the document names one of its components, and every
// component is used: only the types of the functions described are there.
func TestOpenAPIRefsResolve(t *testing.T) {
	in := Instance{Name: "API", Path: "/rpc", SessionName: "session", TimeoutHeader: "T", BodyLimit: 10,
		Functions: []Function{
			{Name: "outer", In: reflect.TypeFor[Outer](), Out: reflect.TypeFor[*Deep](), URL: true, Query: true},
			{Name: "no url", In: reflect.TypeFor[TaggedWins](), URL: false},
			{Name: "list", Out: reflect.TypeFor[[]Point](), URL: true, Stream: true},
		}}
	b, err := OpenAPI(in)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct{ Schemas map[string]json.RawMessage }
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`"\$ref": "([^"]*)"`).FindAllStringSubmatch(string(b), -1) {
		name, ok := strings.CutPrefix(m[1], componentsRef)
		if !ok || doc.Components.Schemas[name] == nil {
			t.Errorf("$ref %q names no component", m[1])
		}
		used[name] = true
	}
	for name := range doc.Components.Schemas {
		if !used[name] {
			t.Errorf("component %s is not used", name)
		}
	}
	if used["TaggedWins"] || used["Tagged"] {
		t.Error("a function without a URL gave the document its types")
	}
}

// No GET operation's id is a POST operation's, for any names a URL can
// have.
func TestOperationIDs(t *testing.T) {
	names := []string{"item", "item_get", "item-get", "get", "Item", "item_get_get", "_", "-"}
	seen := map[string]bool{}
	for _, n := range names {
		for _, m := range []string{http.MethodPost, http.MethodGet} {
			id := operationID(n, m)
			if seen[id] {
				t.Errorf("%s %s: id %q is taken", m, n, id)
			}
			seen[id] = true
		}
	}
}

// Failure is a Go type with the name of the document's failing envelope.
type Failure struct {
	Why string `json:"why"`
}

// A Go type named Failure does not take the envelope's place.
func TestOpenAPIFailureIsTheEnvelope(t *testing.T) {
	b, err := OpenAPI(Instance{Name: "API", Path: "/rpc", Functions: []Function{
		{Name: "f", Out: reflect.TypeFor[Failure](), URL: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Description string
				Properties  map[string]any
			}
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Components.Schemas["Failure"]; !strings.HasPrefix(got.Description, "A weeRPC envelope that fails") {
		t.Errorf("Failure is %+v, not the envelope", got)
	}
	if got := doc.Components.Schemas["Failure2"]; got.Properties["why"] == nil {
		t.Errorf("Failure2 is %+v, not the Go type", got)
	}
	if !strings.Contains(string(b), `"$ref": "#/components/schemas/Failure2"`) {
		t.Error("the function's output does not refer to Failure2")
	}
}
