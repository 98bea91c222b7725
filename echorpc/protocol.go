package echorpc

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"sync"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/labstack/echo/v4"
)

// dialect is a version of the weeRPC protocol. A request names its dialect
// with its version key, and the server answers in the same dialect.
type dialect uint8

const (
	// v11 is weeRPC 1.1: the key "weerpc" with the number 1.1.
	v11 dialect = iota
	// v10 is weeRPC 1.0 (Flask-RPC's first protocol): the key "wrpc" with
	// the number 1.0.
	v10
)

// envelopeHeads holds the start of every reply, by dialect and ok, so a reply
// costs one buffer write for its fixed part.
var envelopeHeads = [2][2]string{
	v11: {`{"weerpc":1.1,"ok":false,"message":`, `{"weerpc":1.1,"ok":true,"message":`},
	v10: {`{"wrpc":1.0,"ok":false,"message":`, `{"wrpc":1.0,"ok":true,"message":`},
}

// replyBuffer is a reusable buffer with an encoder that writes into it.
type replyBuffer struct {
	buf bytes.Buffer
	enc *jsontext.Encoder
}

var replyPool = sync.Pool{New: func() any {
	b := new(replyBuffer)
	b.enc = jsontext.NewEncoder(&b.buf, encodeOptions)
	return b
}}

func getReplyBuffer() *replyBuffer {
	return replyPool.Get().(*replyBuffer)
}

func (rb *replyBuffer) free() {
	if rb.buf.Cap() <= 64<<10 {
		rb.buf.Reset()
		replyPool.Put(rb)
	}
}

// appendEnvelope appends a settled result's four-key envelope in dialect
// v, or five keys with its status when withStatus (a batch item, a
// stream's error event), and returns that status. Data that cannot be
// encoded makes the envelope a logged internal error instead.
func (rb *replyBuffer) appendEnvelope(c echo.Context, v dialect, res *Result, withStatus bool) int {
	b := &rb.buf
	start := b.Len()
	okIndex := 0
	if res.OK {
		okIndex = 1
	}
	b.WriteString(envelopeHeads[v][okIndex])
	if res.Message == "" {
		b.WriteString("null")
	} else {
		b.Write(appendString(b.AvailableBuffer(), res.Message))
	}
	b.WriteString(`,"data":`)
	if res.Data == nil {
		b.WriteString("null")
	} else if plain, ok := appendPlain(b.AvailableBuffer(), res.Data); ok {
		b.Write(plain)
	} else {
		rb.enc.Reset(b, encodeOptions)
		if err := jsonv2.MarshalEncode(rb.enc, res.Data, encodeOptions); err != nil {
			c.Logger().Errorf("echorpc: reply data cannot be encoded as JSON: %v", err)
			b.Truncate(start)
			failed := Result{Err: err}
			settle(&failed)
			return rb.appendEnvelope(c, v, &failed, withStatus)
		}
		b.Truncate(b.Len() - 1) // the encoder's newline
	}
	if withStatus {
		b.WriteString(`,"status":`)
		b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(res.Status), 10))
	}
	b.WriteByte('}')
	return res.Status
}

// appendPlain appends data of a plain kind (a finite float64, an integer,
// a bool) as json/v2 encodes it, without the encoder's fixed cost; ok is
// false for every other value, which the encoder then takes.
func appendPlain(b []byte, data any) ([]byte, bool) {
	switch v := data.(type) {
	case float64:
		return appendFloat(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10), true
	case int64:
		return strconv.AppendInt(b, v, 10), true
	case bool:
		return strconv.AppendBool(b, v), true
	}
	return b, false
}

// appendFloat formats a float64 as JSON numbers are (ECMAScript's shortest
// form, as encoding/json and json/v2 write it: an exponent below 1e-6 and
// from 1e21, without a leading zero in it); ok is false for NaN and the
// infinities, which JSON cannot carry.
func appendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9, as ECMAScript writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

// request is the parsed top level of a weeRPC request body. Byte slices point
// into the body.
type request struct {
	version   dialect
	versionOK bool
	hasFunc   bool   // "function" is present and a JSON string
	name      []byte // the function's name, unescaped
	data      []byte // raw JSON of "data"; nil when absent
}

// Top-level keys of a request, as bits for duplicate detection.
const (
	keyWeerpc = 1 << iota
	keyWrpc
	keyFunction
	keyData
)

// parseRequest checks body as one strict JSON object and picks out the
// weeRPC keys. It refuses what Python's json module would refuse and what
// encoding/json would silently accept: invalid UTF-8, trailing data,
// repeated keys, and nesting deeper than maxDepth. Keys match exactly.
func parseRequest(body []byte, maxDepth int) (request, *Error) {
	s := scanner{b: body, maxDepth: maxDepth}
	s.skipSpace()
	if s.i == len(s.b) {
		return request{}, errEmpty
	}
	if s.b[s.i] != '{' {
		return request{}, notAnObject(&s, body)
	}
	if maxDepth < 1 {
		return request{}, s.tooDeep()
	}
	s.i++
	var p requestParser
	err := s.elements('}', func() *Error {
		key, err := s.key()
		if err != nil {
			return err
		}
		vStart := s.i
		if err := s.value(2); err != nil {
			return err
		}
		return p.member(key, body[vStart:s.i])
	})
	if err == nil {
		err = s.end()
	}
	if err != nil {
		return p.r, err
	}
	// A "weerpc" key that is present but wrong makes the request invalid even
	// when a "wrpc" key is right: the request asked for 1.1.
	if p.seen&keyWeerpc != 0 && p.r.version == v10 {
		p.r.version, p.r.versionOK = v11, false
	}
	if p.members == 0 {
		return p.r, errEmpty
	}
	return p.r, nil
}

// notAnObject is the refusal of a body that does not open an object: its
// syntax error if it is not JSON, empty for null, and not an object
// otherwise.
func notAnObject(s *scanner, body []byte) *Error {
	if err := s.value(1); err != nil {
		return err
	}
	if err := s.end(); err != nil {
		return err
	}
	if bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
		return errEmpty
	}
	return errNotObject
}

// requestParser picks the weeRPC keys out of an envelope's members.
type requestParser struct {
	r       request
	seen    int      // the weeRPC keys seen, as bits
	others  [][]byte // unknown keys, to refuse their repeats too
	members int
}

// member takes one member of the envelope, refusing a repeated key.
func (p *requestParser) member(key, raw []byte) *Error {
	p.members++
	bit := 0
	switch string(key) {
	case "weerpc":
		bit = keyWeerpc
	case "wrpc":
		bit = keyWrpc
	case "function":
		bit = keyFunction
	case "data":
		bit = keyData
	}
	if bit == 0 {
		for _, o := range p.others {
			if bytes.Equal(o, key) {
				return errRepeatedKey(key)
			}
		}
		p.others = append(p.others, key)
		return nil
	}
	if p.seen&bit != 0 {
		return errRepeatedKey(key)
	}
	p.seen |= bit
	r := &p.r
	switch bit {
	case keyWeerpc:
		if isNumber(raw, "1.1", 1.1) {
			r.version, r.versionOK = v11, true
		}
	case keyWrpc:
		if isNumber(raw, "1.0", 1.0) && !(p.seen&keyWeerpc != 0 && r.versionOK) {
			r.version, r.versionOK = v10, true
		}
	case keyFunction:
		if raw[0] == '"' {
			r.hasFunc = true
			r.name = raw[1 : len(raw)-1]
			if bytes.IndexByte(r.name, '\\') >= 0 {
				r.name = unescape(raw)
			}
		}
	case keyData:
		r.data = raw
	}
	return nil
}

// isArray reports whether a body's first non-space byte opens an array.
func isArray(body []byte) bool {
	s := scanner{b: body}
	s.skipSpace()
	return s.peek() == '['
}

// splitBatch checks a batch body (a JSON array) and returns its items. An
// empty array is empty; more than maxItems items is too large.
func splitBatch(body []byte, maxDepth, maxItems int) ([][]byte, *Error) {
	s := scanner{b: body, maxDepth: maxDepth}
	s.skipSpace()
	s.i++ // the '['
	var items [][]byte
	err := s.elements(']', func() *Error {
		start := s.i
		if err := s.value(2); err != nil {
			return err
		}
		items = append(items, body[start:s.i])
		if len(items) > maxItems {
			return errBatchTooLarge(maxItems)
		}
		return nil
	})
	if err == nil {
		err = s.end()
	}
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, errEmpty
	}
	return items, nil
}

// isNumber reports whether raw is a JSON number equal to want, comparing as
// Python's float would, so 1.10 and 11e-1 both mean 1.1.
func isNumber(raw []byte, fast string, want float64) bool {
	if string(raw) == fast {
		return true
	}
	if c := raw[0]; c != '-' && (c < '0' || c > '9') {
		return false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return err == nil && f == want
}

// unescape decodes a JSON string token (quotes included) that the scanner has
// already validated.
func unescape(tok []byte) []byte {
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		return nil
	}
	return []byte(s)
}

// scanner validates JSON in one pass, without building values.
type scanner struct {
	b        []byte
	i        int
	maxDepth int
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// end checks that nothing but white space follows the value.
func (s *scanner) end() *Error {
	s.skipSpace()
	if s.i != len(s.b) {
		return errTrailing
	}
	return nil
}

func (s *scanner) syntax() *Error {
	if s.i >= len(s.b) {
		return errTruncated
	}
	return &Error{Status: 400, Message: "Request is not valid JSON (offset " + strconv.Itoa(s.i) + ")."}
}

func (s *scanner) tooDeep() *Error {
	return &Error{Status: 400, Message: "Request is nested deeper than " + strconv.Itoa(s.maxDepth) + " levels."}
}

// value scans one JSON value at nesting depth depth (the top level is 1).
func (s *scanner) value(depth int) *Error {
	switch c := s.peek(); {
	case c == '{' || c == '[':
		if depth > s.maxDepth {
			return s.tooDeep()
		}
		return s.container(c, depth)
	case c == '"':
		_, err := s.str()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	default:
		return s.syntax()
	}
}

func (s *scanner) container(open byte, depth int) *Error {
	s.i++
	if open == '[' {
		return s.elements(']', func() *Error { return s.value(depth + 1) })
	}
	return s.elements('}', func() *Error {
		if _, err := s.key(); err != nil {
			return err
		}
		return s.value(depth + 1)
	})
}

// elements scans the members of an object or array whose opening byte has
// been consumed, up to and including close: each scans one member, and
// elements the commas between them.
func (s *scanner) elements(close byte, each func() *Error) *Error {
	s.skipSpace()
	if s.peek() == close {
		s.i++
		return nil
	}
	for {
		s.skipSpace()
		if err := each(); err != nil {
			return err
		}
		s.skipSpace()
		switch s.peek() {
		case ',':
			s.i++
		case close:
			s.i++
			return nil
		default:
			return s.syntax()
		}
	}
}

// key scans an object's key and its colon, and returns the key's
// contents, unescaped when it had escapes.
func (s *scanner) key() ([]byte, *Error) {
	if s.peek() != '"' {
		return nil, s.syntax()
	}
	start := s.i
	escaped, err := s.str()
	if err != nil {
		return nil, err
	}
	key := s.b[start+1 : s.i-1]
	if escaped {
		key = unescape(s.b[start:s.i])
	}
	s.skipSpace()
	if s.peek() != ':' {
		return nil, s.syntax()
	}
	s.i++
	s.skipSpace()
	return key, nil
}

func (s *scanner) literal(word string) *Error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return s.syntax()
	}
	s.i += len(word)
	return nil
}

func (s *scanner) number() *Error {
	b, i := s.b, s.i
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		s.i = i
		return s.syntax()
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			s.i = i
			return s.syntax()
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			s.i = i
			return s.syntax()
		}
	}
	s.i = i
	return nil
}

// str scans a string token starting at its opening quote and reports whether
// it holds escapes. Raw control characters and invalid UTF-8 are refused.
func (s *scanner) str() (escaped bool, err *Error) {
	b := s.b
	i := s.i + 1
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			s.i = i + 1
			return escaped, nil
		case c == '\\':
			escaped = true
			i++
			if i >= len(b) {
				s.i = i
				return escaped, s.syntax()
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if len(b)-i < 5 || !isHex4(b[i+1:i+5]) {
					s.i = i
					return escaped, s.syntax()
				}
				i += 5
			default:
				s.i = i
				return escaped, s.syntax()
			}
		case c < 0x20:
			s.i = i
			return escaped, s.syntax()
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return escaped, errInvalidUTF8
			}
			i += size
		}
	}
	s.i = i
	return escaped, s.syntax()
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// appendString appends s as a JSON string, escaped as encoding/json escapes
// it (HTML-safe), with invalid UTF-8 replaced by U+FFFD.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
