package echorpc

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
)

// A function whose output is a [File] answers with the file itself, at its
// own URL: POST Prefix/<name> (and GET, for a query). The reply carries
// the file's Content-Type, Content-Disposition: attachment with its name,
// X-Content-Type-Options: nosniff and, when the body can seek, answers
// Range and conditional requests as http.ServeContent does. A failure is
// an envelope, as for any function. Through the weeRPC route the call is
// refused before it runs, naming the URL.

// sendFile sends a download's answer, and reports whether it did: an
// item of a function that answers a file, which succeeded. A success that
// holds no file becomes a 500 envelope.
func (x *exchange) sendFile(it *item) (bool, error) {
	if it.fn == nil || !it.fn.download || it.refused != nil || !it.res.OK || it.res.Status != http.StatusOK {
		return false, nil
	}
	f := fileAnswer(it.res.Data)
	var body io.ReadCloser
	var err error = errNoFileAnswer
	if f != nil {
		body, err = f.Open()
	}
	if err != nil {
		x.c.Logger().Errorf("echorpc: function %q: %v", it.fn.name, err)
		it.res = Result{Err: errInternal}
		settle(&it.res)
		return false, nil
	}
	defer body.Close()
	w, r := x.c.Response(), x.c.Request()
	h := w.Header()
	x.fileHeaders(h, it.fn, f, r)
	if rs, ok := body.(io.ReadSeeker); ok {
		http.ServeContent(w, r, "", f.ModTime, rs)
		return true, nil
	}
	if !f.ModTime.IsZero() {
		h[echo.HeaderLastModified] = []string{f.ModTime.UTC().Format(http.TimeFormat)}
	}
	if f.Size > 0 {
		h[echo.HeaderContentLength] = []string{strconv.FormatInt(f.Size, 10)}
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return true, nil
	}
	_, err = io.Copy(w, body)
	return true, err
}

// fileAnswer is the file a function answered, or nil.
func fileAnswer(data any) *File {
	switch d := data.(type) {
	case File:
		return &d
	case *File:
		return d
	}
	return nil
}

// fileHeaders sets a file answer's headers: its type, nosniff, its
// disposition with its name, its caching, and its ETag when it has a
// modification time and a size.
func (x *exchange) fileHeaders(h http.Header, fn *function, f *File, r *http.Request) {
	typ := f.Type
	if typ == "" {
		typ = "application/octet-stream"
	}
	h[echo.HeaderContentType] = []string{typ}
	h[echo.HeaderXContentTypeOptions] = headerNoSniff
	disposition := "attachment"
	if name := cleanName(f.Name); name != "" {
		if d := mime.FormatMediaType("attachment", map[string]string{"filename": name}); d != "" {
			disposition = d
		}
	}
	h[echo.HeaderContentDisposition] = []string{disposition}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		cacheControl, vary := fn.caching(&x.rpc.rules, r)
		h[echo.HeaderCacheControl] = []string{cacheControl}
		if vary != "" {
			h[echo.HeaderVary] = []string{vary}
		}
	} else {
		h[echo.HeaderCacheControl] = headerNoStore
	}
	if !f.ModTime.IsZero() && f.Size > 0 {
		h["Etag"] = []string{`"` + strconv.FormatInt(f.ModTime.UnixNano(), 16) + "-" + strconv.FormatInt(f.Size, 16) + `"`}
	}
}

var errNoFileAnswer = errors.New("the function answered no file (a nil *File)")

// errDownloadRoute refuses a call, through the weeRPC route, of a function
// that answers a file, naming its URL.
func (x *exchange) errDownloadRoute(fn *function) *Error {
	url := x.rpc.path + "/" + fn.name
	return &Error{Status: http.StatusBadRequest,
		Message: "Function " + strconv.Quote(echoed(fn.name)) + " answers with a file: call it at its own URL, POST " + url + ".",
		Data:    map[string]string{"url": url}}
}
