package echorpc

import (
	"encoding"
	"reflect"

	"github.com/echo-rpc/wrpc/echorpc/internal/describe"
)

var textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()

// unencodable says why JSON cannot carry values of t ("" when it can); see
// describe.Unencodable.
func unencodable(t reflect.Type) string { return describe.Unencodable(t) }
