package topic

import (
	"reflect"

	"github.com/go-json-experiment/json/jsontext"
)

// Encoded is an item of type T already encoded as JSON: the item type of
// the streams that [Serve] makes. It is sent as its bytes, shared by every
// subscriber, and described (TypeScript, JSON Schema, OpenAPI) as T.
type Encoded[T any] struct{ data []byte }

// MarshalJSONTo writes the item's JSON (null for the zero Encoded).
func (e Encoded[T]) MarshalJSONTo(enc *jsontext.Encoder) error {
	if e.data == nil {
		return enc.WriteToken(jsontext.Null)
	}
	return enc.WriteValue(jsontext.Value(e.data))
}

// DescribedAs is T: echorpc describes the stream's items as T.
func (Encoded[T]) DescribedAs() reflect.Type { return reflect.TypeFor[T]() }
