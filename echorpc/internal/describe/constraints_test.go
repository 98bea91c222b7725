package describe

import (
	"encoding/json"
	"reflect"
	"testing"
)

// Validate tags reach the schema: oneof as enum, and min, max, gte, lte
// and len as the bounds that the field's type has; a rule after dive, and
// one the schema cannot say, are left out.
func TestConstraints(t *testing.T) {
	type in struct {
		Kind  string   `json:"kind" validate:"required,oneof=red green blue"`
		Level int32    `json:"level" validate:"oneof=1 2 3"`
		Qty   int32    `json:"qty" validate:"min=1,max=10"`
		Ratio float64  `json:"ratio" validate:"gte=0.5,lte=2"`
		Name  string   `json:"name" validate:"required,max=200"`
		Code  string   `json:"code" validate:"len=4"`
		Tags  []string `json:"tags" validate:"min=1,dive,max=5"`
		Age   *int32   `json:"age,omitempty" validate:"omitempty,min=18"`
		Email string   `json:"email" validate:"email"`
	}
	s := newGenerator(defsRef, nil).object(reflect.TypeFor[in]())
	got := map[string]string{}
	for name, p := range s.Properties {
		b, _ := json.Marshal(p)
		got[name] = string(b)
	}
	want := map[string]string{
		"kind":  `{"type":"string","enum":["red","green","blue"]}`,
		"level": `{"type":"integer","enum":[1,2,3]}`,
		"qty":   `{"type":"integer","minimum":1,"maximum":10}`,
		"ratio": `{"type":"number","minimum":0.5,"maximum":2}`,
		"name":  `{"type":"string","maxLength":200}`,
		"code":  `{"type":"string","minLength":4,"maxLength":4}`,
		"tags":  `{"type":"array","items":{"type":"string"},"minItems":1}`,
		"age":   `{"anyOf":[{"type":"integer","minimum":18},{"type":"null"}]}`,
		"email": `{"type":"string"}`,
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: got %s, want %s", name, got[name], w)
		}
	}
}
