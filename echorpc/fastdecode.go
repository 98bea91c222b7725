package echorpc

import (
	"bytes"
	"strconv"
)

// A typed function whose input is a plain number, string or bool, or a
// slice of them, decodes it without json/v2's fixed cost (options,
// arshaler lookup, reflection, a slice grown one doubling at a time): a
// third of a small call's time. The fast path gives exactly json/v2's
// result, because it takes on only what it can read the same way, and
// reports false for the rest (null, another JSON type, a string with
// escapes, a number out of range or with a fraction for an integer), which
// json/v2 then decodes, errors included. The data has been scanned as
// valid JSON (parseRequest, checkData) by then, so every token is
// well-formed.

// fastDecoder returns the fast path for In, or nil when In is not one of
// the types it takes.
func fastDecoder[In any]() func(data []byte, in *In) bool {
	var zero In
	var f any
	switch any(zero).(type) {
	case []float64:
		f = fastSlice(fastFloat)
	case []int:
		f = fastSlice(fastInt[int])
	case []int64:
		f = fastSlice(fastInt[int64])
	case []string:
		f = fastSlice(fastString)
	case float64:
		f = fastValue(fastFloat)
	case int:
		f = fastValue(fastInt[int])
	case int64:
		f = fastValue(fastInt[int64])
	case string:
		f = fastValue(fastString)
	case bool:
		f = fastValue(fastBool)
	default:
		return nil
	}
	return f.(func([]byte, *In) bool)
}

// fastValue decodes one JSON token, surrounded by whitespace, with token.
func fastValue[T any](token func([]byte) (T, bool)) func([]byte, *T) bool {
	return func(data []byte, out *T) bool {
		v, ok := token(bytes.TrimSpace(data))
		if ok {
			*out = v
		}
		return ok
	}
}

// fastSlice decodes a JSON array whose elements token takes.
func fastSlice[T any](token func([]byte) (T, bool)) func([]byte, *[]T) bool {
	return func(data []byte, out *[]T) bool {
		data = bytes.TrimSpace(data)
		if len(data) < 2 || data[0] != '[' {
			return false
		}
		body := bytes.TrimSpace(data[1 : len(data)-1])
		if len(body) == 0 {
			*out = []T{}
			return true
		}
		s := make([]T, 0, bytes.Count(body, commaBytes)+1)
		for len(body) > 0 {
			elem := body
			if i := bytes.IndexByte(body, ','); i >= 0 {
				elem, body = body[:i], body[i+1:]
			} else {
				body = nil
			}
			v, ok := token(bytes.TrimSpace(elem))
			if !ok {
				return false // a comma inside a string, a nested value, ...
			}
			s = append(s, v)
		}
		*out = s
		return true
	}
}

var commaBytes = []byte{','}

// isNumberToken reports whether tok looks like a JSON number: the data is
// valid JSON, so a token that starts like one is one.
func isNumberToken(tok []byte) bool {
	return len(tok) > 0 && (tok[0] == '-' || tok[0] >= '0' && tok[0] <= '9')
}

func fastFloat(tok []byte) (float64, bool) {
	if !isNumberToken(tok) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	return f, err == nil // out of range: json/v2 says so
}

func fastInt[T int | int64](tok []byte) (T, bool) {
	if !isNumberToken(tok) {
		return 0, false
	}
	n, err := strconv.ParseInt(string(tok), 10, 64)
	if err != nil || int64(T(n)) != n {
		return 0, false // a fraction, an exponent, out of range
	}
	return T(n), true
}

func fastString(tok []byte) (string, bool) {
	if len(tok) < 2 || tok[0] != '"' || tok[len(tok)-1] != '"' {
		return "", false
	}
	inner := tok[1 : len(tok)-1]
	if bytes.IndexByte(inner, '\\') >= 0 || bytes.IndexByte(inner, '"') >= 0 {
		return "", false // escapes, or more than one token
	}
	return string(inner), true
}

func fastBool(tok []byte) (bool, bool) {
	switch string(tok) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}
