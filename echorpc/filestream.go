package echorpc

import (
	"errors"
	"io"
	"mime/multipart"

	"github.com/labstack/echo/v4"
)

// With FileLimits.Stream, a call's last file is not read before its
// function runs: the function reads the request's part itself, as it
// arrives. Its first bytes are still checked against Accept before the
// function runs; its size and the body's limits are counted as it is read,
// and what the function leaves is read after it, so that the call's
// answer is the refusal of whatever limit the part broke (settleStream).

// streamedPart is the last file of a call with FileLimits.Stream.
type streamedPart struct {
	p       *partReader
	part    *multipart.Part
	lim     *FileLimits
	parts   int    // the parts read before it, the envelope's included
	head    []byte // its first bytes, read to check its type
	read    int64  // of it, head included
	failure *Error // the first limit it broke, or its body's failure
	ended   bool   // read to its end
	opened  bool
}

// startStream checks the first bytes of part, the call's last file,
// against lim.Accept and returns it as a file that the function reads as
// it arrives.
func (s *fileSet) startStream(p *partReader, part *multipart.Part, lim *FileLimits, parts int) (*filePart, *Error) {
	const sniffed = 512 // what the type check reads
	fp, head, failure := startPart(p, part, lim, sniffed)
	if failure != nil {
		return nil, failure
	}
	st := &streamedPart{p: p, part: part, lim: lim, parts: parts, head: head, ended: len(head) < sniffed}
	fp.stream, s.stream = st, st
	return fp, nil
}

// open gives the part to the function, once.
func (st *streamedPart) open() (io.ReadCloser, error) {
	if st.opened {
		return nil, errors.New("echorpc: a streamed file (FileLimits.Stream) can be opened once")
	}
	st.opened = true
	return streamReader{st}, nil
}

// streamReader is a streamed file as its function reads it.
type streamReader struct{ st *streamedPart }

func (r streamReader) Read(b []byte) (int, error) { return r.st.readPart(b) }

func (streamReader) Close() error { return nil }

// WriteTo copies the rest of the part to w through a 256 KiB buffer, for
// io.Copy (whose own buffer, or io.Discard's, is 8 or 32 KiB).
func (r streamReader) WriteTo(w io.Writer) (int64, error) {
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	return io.CopyBuffer(onlyWriter{w}, onlyReader{r}, *buf)
}

// readPart reads the part: its head first, then the body, counting it
// against MaxFileSize. A failure is kept, and given to every later read.
func (st *streamedPart) readPart(b []byte) (int, error) {
	if st.failure != nil {
		return 0, st.failure
	}
	if st.read < int64(len(st.head)) {
		n := copy(b, st.head[st.read:])
		st.read += int64(n)
		return n, nil
	}
	if st.ended {
		return 0, io.EOF
	}
	n, err := st.part.Read(b)
	st.read += int64(n)
	if st.read > st.lim.MaxFileSize {
		st.failure = errFileSize(st.lim.MaxFileSize)
		return 0, st.failure
	}
	switch {
	case err == io.EOF:
		st.ended = true
	case err != nil:
		st.failure = st.p.failure(err)
		return n, st.failure
	}
	return n, err
}

// settleStream finishes a call's streamed file once its function has
// returned res: it reads what the function left of the part and checks
// that no part follows it. The call's answer is res when the part and the
// body kept every limit, and the refusal of the first one broken otherwise.
func (s *fileSet) settleStream(c echo.Context, res Result) Result {
	st := s.stream
	if st == nil {
		return res
	}
	s.stream = nil
	if st.failure == nil && !st.ended {
		_, _ = streamReader{st}.WriteTo(io.Discard)
	}
	if st.failure == nil {
		st.failure = st.p.end(st.lim, st.parts)
	}
	if st.failure != nil {
		return Result{Err: st.failure}
	}
	delete(c.Response().Header(), echo.HeaderConnection) // read to its end
	return res
}

// end checks that the body ends after the parts read so far (parts of
// them): any other part is refused as readFiles would have refused it.
func (p *partReader) end(lim *FileLimits, parts int) *Error {
	part, failure := p.next(lim)
	switch {
	case failure != nil:
		return failure
	case part == nil:
		return nil
	case parts+1 >= lim.MaxParts:
		return errTooManyParts(lim.MaxParts)
	}
	return errUnreferenced(part.FormName())
}
