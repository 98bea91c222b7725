package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// noisePNG is a real PNG of w×h random pixels (which do not compress: about
// 4·w·h bytes), seeded so that each test gets the same one.
func noisePNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(r.Uint32())
	}
	for x := range w { // a band the eye can find in a thumbnail
		for y := h / 3; y < h/2; y++ {
			img.Set(x, y, color.NRGBA{R: 36, G: 87, B: 214, A: 255})
		}
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

// attach uploads content under name and typ for a client through the Go
// client, which streams it as a multipart call.
func attach(base string, clientID int64, name, typ string, content []byte) (Attachment, error) {
	c := &echorpc.Client{Endpoint: base + "/rpc/attachments"}
	var a Attachment
	err := c.Call(context.Background(), "attach", NewAttachment{ClientID: clientID,
		File: echorpc.File{Name: name, Type: typ, Body: bytes.NewReader(content)}}, &a)
	return a, err
}

// downloadLink is the GET URL of an attachment, as the page links it.
func downloadLink(base string, id int64) string {
	return base + "/rpc/attachments/download?data=" + url.QueryEscape(fmt.Sprintf(`{"attachment_id":%d}`, id))
}

// get sends a GET with headers and returns the reply and its body.
func get(t *testing.T, link string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, link, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, body
}

func createClient(t *testing.T, base, name string) int64 {
	t.Helper()
	r, _ := post(t, base+"/rpc/clients", "create", `{"name":"`+name+`"}`)
	require.True(t, r.OK, "create: %v", r.Message)
	var c Client
	require.NoError(t, json.Unmarshal(r.Data, &c))
	return c.ClientID
}

// The attachments of a client: attach (images and PDFs only, by content),
// list, download with Range and If-None-Match, remove, and the cascade
// when the client goes.
func TestAttachments(t *testing.T) {
	srv := testApp(t, filepath.Join(t.TempDir(), "clients.db"))
	id := createClient(t, srv.URL, "Ada")
	img := noisePNG(t, 200, 200) // past echorpc's 64 KiB: a temporary file on the server

	a, err := attach(srv.URL, id, "../../etc/noise.png", "image/png", img)
	require.NoError(t, err)
	assert.Equal(t, Attachment{AttachmentID: a.AttachmentID, ClientID: id, Name: "noise.png", Type: "image/png", Size: int64(len(img)), CreatedAt: a.CreatedAt}, a,
		"the name is cleaned to its base")
	pdf := []byte("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
	doc, err := attach(srv.URL, id, "invoice.pdf", "application/pdf", pdf)
	require.NoError(t, err)

	r, _ := post(t, srv.URL+"/rpc/attachments", "list", fmt.Sprintf(`{"client_id":%d}`, id))
	require.True(t, r.OK, "list: %v", r.Message)
	var list []Attachment
	require.NoError(t, json.Unmarshal(r.Data, &list))
	assert.Equal(t, []Attachment{a, doc}, list)

	// The download link: the file, its headers, a range, and a 304.
	res, body := get(t, downloadLink(srv.URL, a.AttachmentID), nil)
	require.Equal(t, 200, res.StatusCode, "%s", body)
	assert.Equal(t, sha256.Sum256(img), sha256.Sum256(body))
	assert.Equal(t, "image/png", res.Header.Get("Content-Type"))
	assert.Equal(t, `attachment; filename=noise.png`, res.Header.Get("Content-Disposition"))
	assert.Equal(t, strconv.Itoa(len(img)), res.Header.Get("Content-Length"))
	assert.Equal(t, "bytes", res.Header.Get("Accept-Ranges"))
	etag := res.Header.Get("ETag")
	require.NotEmpty(t, etag)
	res, body = get(t, downloadLink(srv.URL, a.AttachmentID), map[string]string{"Range": "bytes=100-199"})
	assert.Equal(t, 206, res.StatusCode)
	assert.Equal(t, img[100:200], body)
	assert.Equal(t, fmt.Sprintf("bytes 100-199/%d", len(img)), res.Header.Get("Content-Range"))
	res, body = get(t, downloadLink(srv.URL, a.AttachmentID), map[string]string{"If-None-Match": etag})
	assert.Equal(t, 304, res.StatusCode)
	assert.Empty(t, body)

	// Refused: HTML declared as a PNG (by its content), a type not listed,
	// too large a file, and a client that does not exist.
	var e *echorpc.Error
	_, err = attach(srv.URL, id, "x.png", "image/png", []byte("<!doctype html><script>alert(1)</script>"))
	require.True(t, errors.As(err, &e), "%v", err)
	assert.Equal(t, 415, e.Status, e.Message)
	assert.Equal(t, map[string]any{"limit": "Accept", "accept": []any{"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"}}, e.Data)
	_, err = attach(srv.URL, id, "notes.txt", "text/plain", []byte("just words"))
	require.True(t, errors.As(err, &e), "%v", err)
	assert.Equal(t, 415, e.Status, e.Message)
	_, err = attach(srv.URL, id, "big.png", "image/png", append([]byte(pngHeader), make([]byte, maxAttachment)...))
	require.True(t, errors.As(err, &e), "%v", err)
	assert.Equal(t, 413, e.Status, e.Message)
	_, err = attach(srv.URL, id+1000, "noise.png", "image/png", img)
	require.True(t, errors.As(err, &e), "%v", err)
	assert.Equal(t, "Client not found.", e.Message)

	// Through the route, download is refused, naming its URL.
	r, _ = post(t, srv.URL+"/rpc/attachments", "download", fmt.Sprintf(`{"attachment_id":%d}`, a.AttachmentID))
	assert.Equal(t, 400, r.Status)
	assert.JSONEq(t, `{"url":"/rpc/attachments/download"}`, string(r.Data))

	// remove, then the client's delete takes the rest with it.
	r, _ = post(t, srv.URL+"/rpc/attachments", "remove", fmt.Sprintf(`{"attachment_id":%d}`, a.AttachmentID))
	assert.True(t, r.OK, "remove: %v", r.Message)
	r, _ = post(t, srv.URL+"/rpc/attachments", "remove", fmt.Sprintf(`{"attachment_id":%d}`, a.AttachmentID))
	assert.Equal(t, msg("Attachment not found."), r.Message)
	r, _ = post(t, srv.URL+"/rpc/clients", "delete", fmt.Sprintf(`{"client_id":%d}`, id))
	require.True(t, r.OK)
	res, body = get(t, downloadLink(srv.URL, doc.AttachmentID), nil)
	assert.Equal(t, 200, res.StatusCode, "a failed call is an ok:false envelope")
	assert.JSONEq(t, `{"weerpc":1.1,"ok":false,"message":"Attachment not found.","data":null}`, string(body), "ON DELETE CASCADE")
}

// pngHeader is the start of a PNG: what the sniffer needs to see one.
const pngHeader = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"

// testFleetAttachments uploads a file through instance a and downloads it
// through instance b: the bytes live in the shared PostgreSQL.
func testFleetAttachments(t *testing.T, a, b string) {
	id := createClient(t, a, "Attached")
	img := noisePNG(t, 160, 160)
	att, err := attach(a, id, "fleet.png", "image/png", img)
	require.NoError(t, err, "attach on A")
	res, body := get(t, downloadLink(b, att.AttachmentID), nil)
	require.Equal(t, 200, res.StatusCode, "download on B: %s", body)
	assert.Equal(t, sha256.Sum256(img), sha256.Sum256(body), "the file uploaded on A, downloaded on B")
	r, _ := post(t, b+"/rpc/clients", "delete", fmt.Sprintf(`{"client_id":%d}`, id))
	assert.True(t, r.OK)
}
