package echorpc

import (
	"bufio"
	"errors"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/labstack/echo/v4"
)

// A call with files is one multipart/form-data POST, to the weeRPC route or
// to the function's URL (see [File]). Its parts, in order:
//
//	envelope (the route)    {"weerpc": 1.1, "function": "set_avatar", "data": {"avatar": {"$file": "f0"}}}
//	data (the function URL) {"avatar": {"$file": "f0"}}
//	f0, f1, ...             each file, with its filename and Content-Type
//
// The first part is the JSON (with no Content-Type, or application/json,
// or text/plain, which is what curl -F and a browser's FormData send); every
// other part must be a file that the JSON refers to, once. A multipart call
// passes the same admission as a JSON one (the cross-origin check first),
// then is read part by part, under the function's FileLimits, before the
// function runs: a refusal comes before the function sees anything (but
// for the last file of a function with FileLimits.Stream, which it reads
// as it arrives: see filestream.go).

// isMultipart reports whether a Content-Type is multipart/form-data.
func isMultipart(ct string) bool {
	return len(ct) >= 19 && strings.EqualFold(ct[:19], "multipart/form-data")
}

// closeUnlessRead marks a multipart request's connection to be closed
// after the reply, until its body has been read to its end: a refusal
// then needs to read none of it (net/http would otherwise read some of an
// unread body before replying, to keep the connection).
func closeUnlessRead(c echo.Context) {
	c.Response().Header()[echo.HeaderConnection] = []string{"close"}
}

// partReader is a multipart request's body as admission opened it.
type partReader struct {
	body *countingBody
	buf  *bufio.Reader // from readBuffers, given back by release
	mr   *multipart.Reader
}

// readBuffers are multipart bodies' read buffers, partBuffer bytes each.
var readBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, partBuffer) }}

// release gives p's read buffer back, once its request has been answered.
func (p *partReader) release() {
	p.buf.Reset(nil)
	readBuffers.Put(p.buf)
}

// openParts opens a multipart request's body, once admission has passed
// it: the parts are read by the edge, which knows the function.
func (x *exchange) openParts() *Error {
	r := x.c.Request()
	_, params, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if err != nil || params["boundary"] == "" {
		return errNoBoundary
	}
	// No function takes a larger body than most: the body is read through
	// http.MaxBytesReader under it, then under the function's own limit.
	most := max(x.rpc.config.Files.MaxBody, x.rpc.maxFilesBody.Load())
	if r.ContentLength > most {
		return errFilesBody(most)
	}
	body := &countingBody{r: http.MaxBytesReader(x.c.Response().Writer, r.Body, most), left: math.MaxInt64, headerLeft: -1}
	// A read buffer of partBuffer bytes (multipart.NewReader keeps a
	// *bufio.Reader that large) lets a part be read in large chunks, with
	// a quarter of the system calls of 64 KiB.
	buf := readBuffers.Get().(*bufio.Reader)
	buf.Reset(body)
	x.parts = &partReader{body: body, buf: buf, mr: multipart.NewReader(buf, params["boundary"])}
	return nil
}

// countingBody counts what is read of a multipart body against its
// limits: the whole body's, and a part header's while one is read.
type countingBody struct {
	r           io.Reader
	read        int64
	left        int64 // of the body
	headerLeft  int64 // of the part header being read; < 0 when none is
	failure     *Error
	limit       *Error // the failure when left runs out
	headerLimit *Error // the failure when headerLeft runs out
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.failure != nil {
		return 0, b.failure
	}
	if b.left <= 0 {
		// At the limit, the body may still end here.
		var one [1]byte
		if n, err := b.r.Read(one[:]); n == 0 && err == io.EOF {
			return 0, io.EOF
		}
		b.failure = b.limit
		return 0, b.failure
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	b.left -= int64(n)
	if b.headerLeft >= 0 {
		if b.headerLeft -= int64(n); b.headerLeft < 0 {
			b.failure = b.headerLimit
			return 0, b.failure
		}
	}
	return n, err
}

// partBuffer is the size of a multipart body's read buffer.
const partBuffer = 256 << 10

// next reads the next part's header under lim.MaxPartHeader: no more than
// the limit and the read buffer is read while it is parsed, and the header
// parsed is then measured (its names, values and line ends).
func (p *partReader) next(lim *FileLimits) (*multipart.Part, *Error) {
	p.body.headerLeft = int64(lim.MaxPartHeader) + partBuffer
	p.body.headerLimit = errPartHeader(lim.MaxPartHeader)
	part, err := p.mr.NextPart()
	p.body.headerLeft = -1
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, p.failure(err)
	}
	size := 0
	for k, vs := range part.Header {
		for _, v := range vs {
			size += len(k) + len(v) + 4
		}
	}
	if size > lim.MaxPartHeader {
		return nil, p.body.headerLimit
	}
	return part, nil
}

// failure is the refusal for an error met reading the body.
func (p *partReader) failure(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errFilesBody(mbe.Limit)
	}
	return errMalformedParts
}

// decodeParts reads a multipart call: its envelope (route) or data (a
// function's URL), then its files, into one item.
func decodeParts(x *exchange, route bool) ([]item, writer, *Error) {
	p := x.parts
	base := x.rpc.config.Files
	first, failure := p.next(&base)
	if failure != nil {
		return nil, nil, failure
	}
	want := "data"
	if route {
		want = "envelope"
	}
	if first == nil || first.FormName() != want {
		return nil, nil, errFirstPart(want)
	}
	if ct := first.Header.Get(echo.HeaderContentType); ct != "" && !isJSON(ct) && !strings.HasPrefix(ct, "text/plain") {
		return nil, nil, errEnvelopeType
	}
	raw, failure := p.readEnvelope(first, base.MaxEnvelope)
	if failure != nil {
		return nil, nil, failure
	}
	var it item
	switch {
	case route && isArray(raw):
		return nil, nil, errFilesInBatch
	case route:
		req, failure := parseRequest(raw, x.rpc.config.MaxDepth)
		if failure != nil {
			return nil, nil, failure
		}
		it = x.resolve(&req)
	default:
		fn := x.urlFunction(x.c)
		if fn == nil {
			return nil, nil, errFunction
		}
		data, failure := checkData(raw, x.rpc.config.MaxDepth)
		it = item{fn: fn, v: v11, data: data, refused: failure}
	}
	if it.refused == nil {
		it.refused = x.readFiles(it.fn, it.data, len(raw))
	}
	x.one[0] = it
	return x.one[:], writeEnvelope, nil
}

// readEnvelope reads the first part, up to max bytes.
func (p *partReader) readEnvelope(part *multipart.Part, max int64) ([]byte, *Error) {
	raw, err := io.ReadAll(io.LimitReader(part, max+1))
	if err != nil {
		return nil, p.failure(err)
	}
	if int64(len(raw)) > max {
		return nil, errEnvelopeSize(max)
	}
	return raw, nil
}

// readFiles reads the file parts of a call of fn, whose data refers to
// them, under fn's limits, after fn's own rules have passed (so that no
// caller they refuse gets a file stored).
func (x *exchange) readFiles(fn *function, data []byte, envelope int) *Error {
	if !fn.files {
		return errNotJSON
	}
	if failure := x.who.check(&fn.rules); failure != nil {
		return failure
	}
	lim := &fn.fileLimits
	if int64(envelope) > lim.MaxEnvelope {
		return errEnvelopeSize(lim.MaxEnvelope)
	}
	p := x.parts
	if r := x.c.Request(); r.ContentLength > lim.MaxBody {
		return errFilesBody(lim.MaxBody)
	}
	// What was read ahead counts: the read buffer may hold the whole body.
	if p.body.read > lim.MaxBody {
		return errFilesBody(lim.MaxBody)
	}
	p.body.left = lim.MaxBody - p.body.read
	p.body.limit = errFilesBody(lim.MaxBody)
	refs, failure := fileRefs(data, lim.MaxFiles)
	if failure != nil {
		return failure
	}
	x.files = &fileSet{parts: make(map[string]*filePart, len(refs))}
	for parts := 1; ; parts++ {
		part, failure := p.next(lim)
		if failure != nil {
			return failure
		}
		if part == nil {
			break
		}
		if parts >= lim.MaxParts {
			return errTooManyParts(lim.MaxParts)
		}
		name := part.FormName()
		switch {
		case !refs[name]:
			return errUnreferenced(name)
		case x.files.parts[name] != nil:
			return errRepeatedPart(name)
		}
		if lim.Stream && len(x.files.parts) == len(refs)-1 {
			fp, failure := x.files.startStream(p, part, lim, parts)
			if failure != nil {
				return failure
			}
			x.files.parts[name] = fp
			return nil // the rest is read as the function runs: filestream.go
		}
		fp, failure := x.files.take(p, part, lim)
		if failure != nil {
			return failure
		}
		x.files.parts[name] = fp
	}
	for name := range refs {
		if x.files.parts[name] == nil {
			return errMissingPart(name)
		}
	}
	delete(x.c.Response().Header(), echo.HeaderConnection) // read to its end
	return nil
}

// fileRefs collects the part names that data refers to, as
// {"$file": "<name>"} objects, refusing more than max of them.
func fileRefs(data []byte, max int) (map[string]bool, *Error) {
	refs := map[string]bool{}
	if data == nil {
		return refs, nil
	}
	var v any
	if err := jsonv2.Unmarshal(data, &v); err != nil {
		return nil, InvalidData(decodeError(err)...)
	}
	var walk func(v any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case map[string]any:
			if name, ok := v["$file"].(string); ok && len(v) == 1 {
				refs[name] = true
				return len(refs) <= max
			}
			for _, e := range v {
				if !walk(e) {
					return false
				}
			}
		case []any:
			for _, e := range v {
				if !walk(e) {
					return false
				}
			}
		}
		return true
	}
	if !walk(v) {
		return nil, errTooManyFiles(max)
	}
	return refs, nil
}

// copyBuffers are the buffers that files are copied to disk with.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// take reads one file part: in memory up to lim.MemoryThreshold, in a
// temporary file past it; its first bytes are checked against lim.Accept
// before any of it is stored.
func (s *fileSet) take(p *partReader, part *multipart.Part, lim *FileLimits) (*filePart, *Error) {
	size := min(lim.MemoryThreshold, lim.MaxFileSize) + 1
	fp, head, failure := startPart(p, part, lim, size)
	if failure != nil {
		return nil, failure
	}
	n := len(head)
	if int64(n) < size {
		fp.mem, fp.size = head, int64(n)
		if int64(n) < size/2 {
			fp.mem = append([]byte(nil), head...) // not the whole buffer
		}
		return fp, nil
	}
	f, err := os.CreateTemp("", "wrpc-upload-*")
	if err != nil {
		return nil, errInternal
	}
	s.temps = append(s.temps, f)
	fp.file = f
	if _, err := f.Write(head[:n]); err != nil {
		return nil, errInternal
	}
	written, failure := p.spill(f, part, lim.MaxFileSize-int64(n), errFileSize(lim.MaxFileSize))
	if failure != nil {
		return nil, failure
	}
	fp.size = int64(n) + written
	return fp, nil
}

// startPart starts reading a file part: its name (cleaned) and declared
// type, and up to size of its first bytes, whose type is checked against
// lim.Accept (by its first 512) and whose length against lim.MaxFileSize.
func startPart(p *partReader, part *multipart.Part, lim *FileLimits, size int64) (*filePart, []byte, *Error) {
	fp := &filePart{name: cleanName(part.FileName()), typ: "application/octet-stream"}
	if mt, _, err := mime.ParseMediaType(part.Header.Get(echo.HeaderContentType)); err == nil {
		fp.typ = mt
	}
	head := make([]byte, size)
	n, err := fill(part, head)
	if err != nil {
		return nil, nil, p.failure(err)
	}
	if failure := accepts(lim.Accept, fp.typ, head[:min(n, 512)]); failure != nil {
		return nil, nil, failure
	}
	if int64(n) > lim.MaxFileSize {
		return nil, nil, errFileSize(lim.MaxFileSize)
	}
	return fp, head[:n], nil
}

// spill copies the rest of a part, at most max bytes (more is tooLarge),
// to its temporary file. A part's Read gives no more than what
// mime/multipart's 4 KiB read buffer holds, so the copy buffer is filled
// before it is written: one write of 256 KiB in place of sixty-four of
// 4 KiB. (Writing from a goroutine of its own, a buffer behind the reads,
// measured no faster on a busy two-core machine, so the writes stay in
// line.)
func (p *partReader) spill(f *os.File, part io.Reader, max int64, tooLarge *Error) (int64, *Error) {
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	var written int64
	for {
		n, err := fill(part, *buf)
		if err != nil {
			return written, p.failure(err)
		}
		if written += int64(n); written > max {
			return written, tooLarge
		}
		if _, err := f.Write((*buf)[:n]); err != nil {
			return written, errInternal
		}
		if n < len(*buf) {
			return written, nil // the part's end
		}
	}
}

// onlyReader and onlyWriter hide ReadFrom and WriteTo, so that CopyBuffer
// uses its buffer.
type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }

// fill reads into b until it is full or the part ends; only a failure to
// read is an error.
func fill(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// accepts checks a file's declared type and first bytes against accept.
func accepts(accept []string, declared string, head []byte) *Error {
	if len(accept) == 0 {
		return nil
	}
	sniffed, _, _ := mime.ParseMediaType(http.DetectContentType(head))
	generic := sniffed == "application/octet-stream" || sniffed == "text/plain"
	for _, pattern := range accept {
		if !typeMatches(pattern, declared) {
			continue
		}
		if typeMatches(pattern, sniffed) {
			return nil
		}
		if generic && !sniffedFamily(pattern) {
			return nil
		}
	}
	return errFileType(declared, sniffed, accept)
}

// typeMatches reports whether a media type matches a pattern, "type/sub"
// or "type/*".
func typeMatches(pattern, mt string) bool {
	if family, ok := strings.CutSuffix(pattern, "/*"); ok {
		f, _, _ := strings.Cut(mt, "/")
		return strings.EqualFold(f, family)
	}
	return strings.EqualFold(pattern, mt)
}

// sniffedFamily reports whether a pattern names types that
// http.DetectContentType recognizes by their content.
func sniffedFamily(pattern string) bool {
	return strings.HasPrefix(pattern, "image/") || strings.HasPrefix(pattern, "audio/") || strings.HasPrefix(pattern, "video/")
}

// The refusals of multipart calls.
var (
	errNoBoundary     = &Error{Status: http.StatusBadRequest, Message: "Invalid multipart request: its Content-Type has no boundary."}
	errMalformedParts = &Error{Status: http.StatusBadRequest, Message: "Invalid multipart request: the body is malformed or truncated."}
	errEnvelopeType   = &Error{Status: http.StatusUnsupportedMediaType, Message: "The first part of a multipart request must be JSON."}
	errFilesInBatch   = &Error{Status: http.StatusBadRequest, Message: "A call with files is one call: it cannot be a batch."}
)

func errFirstPart(want string) *Error {
	return &Error{Status: http.StatusBadRequest, Message: "Invalid multipart request: its first part must be " + strconv.Quote(want) + ", the call's JSON."}
}

// limitError refuses a request over a limit of FileLimits, naming it in its
// message and data ({"limit": "MaxFiles", "max": 16}).
func limitError(status int, name string, max int64, msg string) *Error {
	return &Error{Status: status, Message: msg + " (FileLimits." + name + " is " + strconv.FormatInt(max, 10) + ").", Data: fileLimit{Limit: name, Max: max}}
}

// fileLimit is the data of a refusal over a file limit.
type fileLimit struct {
	Limit string `json:"limit"`
	Max   int64  `json:"max"`
}

func errFilesBody(max int64) *Error {
	return limitError(http.StatusRequestEntityTooLarge, "MaxBody", max, "Request body is too large")
}

func errEnvelopeSize(max int64) *Error {
	return limitError(http.StatusRequestEntityTooLarge, "MaxEnvelope", max, "The call's JSON part is too large")
}

func errFileSize(max int64) *Error {
	return limitError(http.StatusRequestEntityTooLarge, "MaxFileSize", max, "A file is too large")
}

func errTooManyFiles(max int) *Error {
	return limitError(http.StatusRequestEntityTooLarge, "MaxFiles", int64(max), "The call has too many files")
}

func errTooManyParts(max int) *Error {
	return limitError(http.StatusRequestEntityTooLarge, "MaxParts", int64(max), "The request has too many parts")
}

func errPartHeader(max int) *Error {
	return limitError(http.StatusRequestEntityTooLarge, "MaxPartHeader", int64(max), "A part's header is too large")
}

func errUnreferenced(name string) *Error {
	return &Error{Status: http.StatusBadRequest, Message: "Invalid multipart request: the part " + strconv.Quote(echoed(name)) + " is not a file that the data refers to."}
}

func errRepeatedPart(name string) *Error {
	return &Error{Status: http.StatusBadRequest, Message: "Invalid multipart request: the part " + strconv.Quote(echoed(name)) + " is repeated."}
}

func errMissingPart(name string) *Error {
	return &Error{Status: http.StatusBadRequest, Message: "Invalid multipart request: the data refers to the part " + strconv.Quote(echoed(name)) + ", which the request does not have."}
}

func errFileType(declared, sniffed string, accept []string) *Error {
	return &Error{Status: http.StatusUnsupportedMediaType,
		Message: "A file's type is not accepted: declared " + strconv.Quote(echoed(declared)) + ", its content is " + sniffed + "; accepted: " + strings.Join(accept, ", ") + ".",
		Data:    map[string]any{"limit": "Accept", "accept": accept}}
}
