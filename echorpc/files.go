package echorpc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// File is one file, in a call's data or as a function's answer.
//
// In a typed function's input (see [Func]) a File (or a *File, or a
// []File for a list) may stand anywhere a JSON value may, beside the other
// fields:
//
//	type Profile struct {
//		Name   string       `json:"name"`
//		Avatar echorpc.File `json:"avatar"`
//	}
//
// Such a function is called with one multipart/form-data POST, to the
// instance's route or to the function's URL: its first part holds the
// envelope (or, at the function's URL, the data) as JSON, in which each
// file is the reference {"$file": "<part name>"}, and each file is a part
// of its own with that name. The handler gets Name, Type and Size and reads
// the content with Open, as often as it likes, until the call ends: a file
// larger than FileLimits.MemoryThreshold waits in a temporary file (made
// with os.CreateTemp, whatever the client named it), removed when the call
// ends, however it ends; with FileLimits.Stream, the call's last file is
// read by the handler as it arrives instead. The limits and accepted types
// are the instance's Config.Files, or the functions' [WithFiles].
//
// As a function's answer (Func[In, echorpc.File], or *File), the file is
// sent as the reply's body, with Content-Type, Content-Disposition
// (attachment, with Name) and Content-Length when Size is known. When Body
// is an io.ReadSeeker, the reply also answers Range and conditional
// requests (If-None-Match against an ETag made from Size and ModTime,
// If-Modified-Since against ModTime), as http.ServeContent does. A file
// answer is sent at the function's own URL only (POST, or GET for a
// [Query]); through the weeRPC route the call is refused, naming the URL.
// Body is closed after the reply when it is an io.Closer.
//
// On the [Client], a File with a Body in a call's data is sent as a part
// of its own, streamed from Body, and [Client.Call] with a *File out fills it with a file
// whose Body is the reply's.
type File struct {
	// Name is the file's name. From a client it is cleaned: its base name
	// only (never a path), without control characters, at most 255 bytes.
	// It is never used as a path on the server.
	Name string `json:"name"`
	// Type is the file's media type, as declared (an upload's part header,
	// "application/octet-stream" when none). Uploads to functions that
	// list accepted types are checked by their content (see
	// FileLimits.Accept), not by this header.
	Type string `json:"type"`
	// Size is the size in bytes: exact for an upload. An answer sends it
	// as Content-Length when it is above 0 (an io.Seeker Body's size is
	// found by seeking); 0 means unknown, and the reply is chunked.
	Size int64 `json:"size"`
	// ModTime is the file's modification time, for an answer's
	// Last-Modified; zero for none.
	ModTime time.Time `json:"modTime,omitzero"`
	// Body is the content of an answer, or of a file that a [Client] sends.
	// An upload leaves it nil: read it with Open.
	Body io.Reader `json:"-"`

	part *filePart // an upload's content, held by its call
}

// Open returns the content of the file: an upload's, from the start (each
// Open gives a reader of its own, which also implements io.Seeker and
// io.ReaderAt), or else Body (closed by the caller when it is an
// io.ReadCloser; an io.Seeker stays one). An upload can no longer be
// opened once its call has ended.
func (f *File) Open() (io.ReadCloser, error) {
	if f.part != nil {
		return f.part.open()
	}
	if f.Body == nil {
		return nil, errors.New("echorpc: the file has no content")
	}
	switch b := f.Body.(type) {
	case io.ReadCloser:
		return b, nil
	case io.ReadSeeker:
		return seekNopCloser{b}, nil
	}
	return io.NopCloser(f.Body), nil
}

// seekNopCloser is a Body that can seek, with a Close that does nothing.
type seekNopCloser struct{ io.ReadSeeker }

func (seekNopCloser) Close() error { return nil }

// FileLimits bound the multipart calls of the functions that take files
// (see [File]): Config.Files for an instance, [WithFiles] for some of its
// functions, where a zero field keeps the instance's. A request over a
// limit is refused with an envelope that names it: 413 for a size or a
// count, 415 for a type not accepted, 400 for a malformed body.
type FileLimits struct {
	// MaxBody bounds the whole multipart body, in bytes.
	// Default 32 MiB.
	MaxBody int64
	// MaxFileSize bounds each file, in bytes.
	// Default 32 MiB.
	MaxFileSize int64
	// MaxFiles bounds the files of one call.
	// Default 16.
	MaxFiles int
	// MaxParts bounds the parts of the body, the envelope's included.
	// Default 32.
	MaxParts int
	// MaxEnvelope bounds the first part, the envelope (or data), in bytes.
	// It is read under the instance's (the function is not known yet),
	// then checked against the function's.
	// Default Config.BodyLimit.
	MaxEnvelope int64
	// MaxPartHeader bounds each part's header, in bytes (its names, values
	// and line ends); the first part's is the instance's.
	// Default 8 KiB.
	MaxPartHeader int
	// MemoryThreshold is the largest file kept in memory; a larger one
	// waits in a temporary file (os.CreateTemp, in os.TempDir).
	// Default 64 KiB.
	MemoryThreshold int64
	// Accept lists the media types that files may have, as "image/png",
	// or "image/*" for a whole type. A file is checked by its content: the
	// type that net/http.DetectContentType sniffs from its first 512 bytes
	// must match, and so must its declared type. When the sniffer can only
	// say "application/octet-stream" or "text/plain", the declared type
	// alone decides, except for image/, audio/ and video/ types, whose
	// formats the sniffer knows. A file refused is answered 415.
	// Default none: any type.
	Accept []string
	// Stream hands the call's last file to the function as it arrives,
	// for a handler that passes an upload on (to object storage, a
	// database, a hash) without waiting for all of it: the function runs
	// once the parts before it are read, and that file is neither kept in
	// memory nor in a temporary file. Its Open then gives the request's
	// part itself, once (a second Open fails); its Size is 0, unknown; its
	// type is still checked against Accept before the function runs, but
	// MaxFileSize, MaxBody and a malformed body are met as the function
	// reads (its Read fails with the refusal's *Error), and the call is
	// answered with that refusal whatever the function returned. What the
	// function leaves unread is read (and discarded) after it returns,
	// under the same limits.
	// Default false: every file is read, and checked, before the
	// function runs.
	Stream bool
}

// defaultFileLimits are the limits that Config.Files defaults to, field
// by field; MaxEnvelope defaults to Config.BodyLimit.
var defaultFileLimits = FileLimits{
	MaxBody:         32 << 20,
	MaxFileSize:     32 << 20,
	MaxFiles:        16,
	MaxParts:        32,
	MaxPartHeader:   8 << 10,
	MemoryThreshold: 64 << 10,
}

// WithFiles sets, for these functions, the limits and accepted types of
// their files (see [File]); its zero fields keep Config.Files.
func WithFiles(limits FileLimits) Option {
	return func(s *scope) { s.files = &limits }
}

// over returns l with its zero fields taken from base.
func (l FileLimits) over(base FileLimits) FileLimits {
	if l.MaxBody <= 0 {
		l.MaxBody = base.MaxBody
	}
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = base.MaxFileSize
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = base.MaxFiles
	}
	if l.MaxParts <= 0 {
		l.MaxParts = base.MaxParts
	}
	if l.MaxEnvelope <= 0 {
		l.MaxEnvelope = base.MaxEnvelope
	}
	if l.MaxPartHeader <= 0 {
		l.MaxPartHeader = base.MaxPartHeader
	}
	if l.MemoryThreshold <= 0 {
		l.MemoryThreshold = base.MemoryThreshold
	}
	if l.Accept == nil {
		l.Accept = base.Accept
	}
	l.Stream = l.Stream || base.Stream
	return l
}

// fileSet is the files of one call, from its edge to its end: remove frees
// them (the exchange's free calls it, whatever the call's end).
type fileSet struct {
	parts  map[string]*filePart // by part name
	temps  []*os.File           // every temporary file made, to remove
	stream *streamedPart        // the last file, with FileLimits.Stream
}

// filePart is one uploaded file's content: in memory, or in a temporary
// file.
type filePart struct {
	name, typ string
	size      int64
	mem       []byte
	file      *os.File
	stream    *streamedPart // the part itself, with FileLimits.Stream
	gone      bool          // the call has ended
}

// open returns a reader of its own on p's content.
func (p *filePart) open() (io.ReadCloser, error) {
	switch {
	case p.gone:
		return nil, errors.New("echorpc: the file's call has ended: read an upload while its call runs")
	case p.stream != nil:
		return p.stream.open()
	case p.file != nil:
		return sectionCloser{io.NewSectionReader(p.file, 0, p.size)}, nil
	}
	return sectionCloser{io.NewSectionReader(bytes.NewReader(p.mem), 0, p.size)}, nil
}

// sectionCloser is an upload's reader: closing it leaves the content for
// other readers.
type sectionCloser struct{ *io.SectionReader }

func (sectionCloser) Close() error { return nil }

// WriteTo copies the rest of the upload to w through a 256 KiB buffer, for
// io.Copy: without it, a copy to io.Discard or to a hash reads the file
// 8 or 32 KiB at a time, one system call each.
func (s sectionCloser) WriteTo(w io.Writer) (int64, error) {
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	return io.CopyBuffer(onlyWriter{w}, onlyReader{s.SectionReader}, *buf)
}

// remove removes the set's temporary files.
func (s *fileSet) remove() {
	for _, p := range s.parts {
		p.gone = true
	}
	for _, f := range s.temps {
		name := f.Name()
		_ = f.Close()
		_ = os.Remove(name)
	}
	s.temps = nil
}

// fileRefError refuses a file reference that the call's parts do not
// answer.
type fileRefError struct{ msg string }

func (e *fileRefError) Error() string { return e.msg }

// unmarshalers decodes each File of a call's data from its reference,
// {"$file": "<part name>"}; set is nil for a call without parts.
func (s *fileSet) unmarshalers() *jsonv2.Unmarshalers {
	return jsonv2.UnmarshalFromFunc(func(dec *jsontext.Decoder, f *File) error {
		if dec.PeekKind() == 'n' {
			_, err := dec.ReadToken()
			return err
		}
		var ref struct {
			File *string `json:"$file"`
		}
		if err := jsonv2.UnmarshalDecode(dec, &ref, jsonv2.RejectUnknownMembers(true)); err != nil || ref.File == nil {
			return &fileRefError{`must be a file reference, {"$file": "<part name>"}`}
		}
		if s == nil {
			return &fileRefError{"is a file: send the call as multipart/form-data, with the file as a part"}
		}
		p := s.parts[*ref.File]
		if p == nil {
			return &fileRefError{"refers to a part that the request does not have"}
		}
		*f = File{Name: p.name, Type: p.typ, Size: p.size, part: p}
		return nil
	})
}

// fileFieldErrors turns a File's decoding failure into its field error.
func fileFieldErrors(err error) ([]FieldError, bool) {
	var fe *fileRefError
	if !errors.As(err, &fe) {
		return nil, false
	}
	path := ""
	var se *jsonv2.SemanticError
	if errors.As(err, &se) {
		path = pointerPath(string(se.JSONPointer))
	}
	return []FieldError{{Path: path, Rule: "file", Message: fe.msg}}, true
}

var fileType = reflect.TypeFor[File]()

// holdsFiles reports whether values of t can hold a File; with anyOK, an
// interface type counts as one that can (a client's data of type any may
// hold a File; a function's input of type any never decodes into one).
func holdsFiles(t reflect.Type, anyOK bool) bool {
	return typeReaches(t, func(t reflect.Type) bool {
		return t == fileType || anyOK && t.Kind() == reflect.Interface
	}, nil)
}

// isFileAnswer reports whether t, a function's output, is a file answer.
func isFileAnswer(t reflect.Type) bool {
	return t == fileType || t == reflect.PointerTo(fileType)
}

// cleanName is a client's file name as a handler sees it: its last path
// element (multipart's FileName has taken it already; this also cuts at
// "\"), without control characters, valid UTF-8, at most 255 bytes.
func cleanName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	if name == "." || name == ".." {
		name = ""
	}
	for len(name) > 255 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}

// takeFiles marks fn as taking files or answering one, by its types, with
// the limits of its uploads (limits from WithFiles, over Config.Files).
// Called under rpc.mu.
func (rpc *RPC) takeFiles(fn *function, in, out reflect.Type, limits *FileLimits) {
	fn.download = out != nil && isFileAnswer(out)
	if fn.download && !urlName(fn.name) {
		panic(fmt.Sprintf("echorpc: function %q answers with a file, which is sent at the function's URL only, but its name cannot be a URL segment", fn.name))
	}
	if fn.files = holdsFiles(in, false); !fn.files {
		return
	}
	fn.fileLimits = rpc.config.Files
	if limits != nil {
		fn.fileLimits = limits.over(rpc.config.Files)
	}
	if fn.fileLimits.MaxBody > rpc.maxFilesBody.Load() {
		rpc.maxFilesBody.Store(fn.fileLimits.MaxBody)
	}
}
