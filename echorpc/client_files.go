package echorpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// A call whose data holds a [File] with a Body is sent by [Client.Call] as
// one multipart/form-data POST to Endpoint, streamed: the envelope first,
// as the part "envelope", with each file as {"$file": "f<i>"}, then each
// file as the part "f<i>", copied from its Body as the server reads it
// (through an io.Pipe; nothing is buffered whole). Such a call is tried
// once, never retried (its Bodies cannot be read twice); the client does
// not close the Bodies.

// fileTypes caches, by type, whether a call's data can hold a File (an
// interface value may).
var fileTypes sync.Map // reflect.Type -> bool

// sendsFiles reports whether data's type can hold a File.
func sendsFiles(data any) bool {
	t := reflect.TypeOf(data)
	if t == nil {
		return false
	}
	if v, ok := fileTypes.Load(t); ok {
		return v.(bool)
	}
	holds := holdsFiles(t, true)
	fileTypes.Store(t, holds)
	return holds
}

// callBodyFiles encodes a call's body as callBody does, with each File of
// data replaced by its reference; files is nil when data holds none.
func (d clientDialect) callBodyFiles(function string, data any) (body []byte, files []*File, err error) {
	if !sendsFiles(data) {
		body, err = d.callBody(function, data)
		return body, nil, err
	}
	collect := jsonv2.MarshalToFunc(func(enc *jsontext.Encoder, f File) error {
		if f.Body == nil {
			return errors.New("a File in a call's data needs a Body to send")
		}
		files = append(files, &f)
		return enc.WriteValue(jsontext.Value(`{"$file":"f` + strconv.Itoa(len(files)-1) + `"}`))
	})
	raw, err := jsonv2.Marshal(data, encodeOptions, jsonv2.WithMarshalers(collect))
	if err != nil {
		return nil, nil, err
	}
	body, err = d.callBody(function, jsontext.Value(raw))
	return body, files, err
}

// sendFiles makes a call with files: the envelope and each file, streamed
// through a pipe as the transport sends them.
func (c *Client) sendFiles(ctx context.Context, d clientDialect, function string, envelope []byte, files []*File, out any) error {
	pr, pw := io.Pipe()
	defer pr.Close() // stops the writer when the reply came first
	mw := multipart.NewWriter(pw)
	go func() { pw.CloseWithError(writeParts(mw, envelope, files)) }()
	rep, err := c.post(ctx, pr, mw.FormDataContentType(), "")
	if c.Retry != nil && !retryable(ctx, rep.status, err) && ctx.Err() == nil {
		c.budget.succeed()
	}
	var e *Error
	switch {
	case err == nil:
		return d.check(function, rep, out)
	case !errors.As(err, &e):
		return fmt.Errorf("wrpc: calling %q: %w", function, err)
	}
	return err
}

// writeParts writes a multipart call's parts, then its closing boundary.
func writeParts(mw *multipart.Writer, envelope []byte, files []*File) error {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="envelope"`)
	h.Set("Content-Type", "application/json")
	w, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := w.Write(envelope); err != nil {
		return err
	}
	for i, f := range files {
		h := textproto.MIMEHeader{}
		disposition := map[string]string{"name": "f" + strconv.Itoa(i)}
		if name := cleanName(f.Name); name != "" {
			disposition["filename"] = name
		}
		h.Set("Content-Disposition", mime.FormatMediaType("form-data", disposition))
		typ := f.Type
		if typ == "" {
			typ = "application/octet-stream"
		}
		h.Set("Content-Type", typ)
		w, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, f.Body); err != nil {
			return fmt.Errorf("wrpc: reading file %q: %w", f.Name, err)
		}
	}
	return mw.Close()
}

// download calls a function that answers with a file (see [File]) at its
// own URL, as [Client.Call] does for an out of type *File; Body reads at
// most MaxReplyBytes.
func (c *Client) download(ctx context.Context, function string, data any) (*File, error) {
	d, err := c.dialect()
	if err != nil {
		return nil, err
	}
	raw, err := jsonv2.Marshal(data, encodeOptions)
	if err != nil {
		return nil, fmt.Errorf("wrpc: encoding the data for %q: %w", function, err)
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		return nil, err
	}
	u = u.JoinPath(function)
	req, err := c.newRequest(ctx, http.MethodPost, u.String(), strings.NewReader(string(raw)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "*/*")
	res, err := c.roundTrip(ctx, req, "downloading", function)
	if err != nil {
		return nil, err
	}
	maxBytes := c.maxReplyBytes()
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	disposition := res.Header.Get("Content-Disposition")
	if mt == "application/json" && disposition == "" || res.StatusCode != http.StatusOK && res.StatusCode != http.StatusPartialContent {
		defer res.Body.Close()
		if mt != "application/json" {
			return nil, &Error{Status: res.StatusCode, Message: fmt.Sprintf("The reply is neither a file nor a weeRPC envelope (HTTP %d, %s).", res.StatusCode, cutEchoed(contentType(res)))}
		}
		body, err := c.readReply(res)
		if err != nil {
			return nil, err
		}
		if err := d.check(function, clientReply{status: res.StatusCode, raw: body}, nil); err != nil {
			return nil, err
		}
		return nil, &Error{Status: res.StatusCode, Message: "The function answered an envelope, not a file."}
	}
	if res.ContentLength > maxBytes {
		res.Body.Close()
		return nil, errDownloadTooLarge(res.StatusCode, maxBytes)
	}
	f := &File{Type: mt, Size: max(res.ContentLength, 0), Body: &boundedBody{r: res.Body, left: maxBytes, limit: maxBytes, status: res.StatusCode}}
	if _, params, err := mime.ParseMediaType(disposition); err == nil {
		f.Name = cleanName(params["filename"])
	}
	if t, err := http.ParseTime(res.Header.Get("Last-Modified")); err == nil {
		f.ModTime = t
	}
	return f, nil
}

// boundedBody is a download's body, read up to its limit.
type boundedBody struct {
	r      io.ReadCloser
	left   int64
	limit  int64
	status int
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, errDownloadTooLarge(b.status, b.limit)
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	if b.left -= int64(n); b.left < 0 {
		return n + int(b.left), errDownloadTooLarge(b.status, b.limit)
	}
	return n, err
}

func (b *boundedBody) Close() error { return b.r.Close() }

func errDownloadTooLarge(status int, limit int64) *Error {
	return &Error{Status: status, Message: "The file is larger than the download's limit of " + strconv.FormatInt(limit, 10) + " bytes."}
}
