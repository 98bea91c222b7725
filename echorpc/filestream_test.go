package echorpc_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
)

// streamedServer is filesServer with "pass", a function whose last file
// is streamed (FileLimits.Stream) under small limits, which counts its
// runs and what it read, and checks that no temporary file exists while
// it reads.
type streamedServer struct {
	url, tmp string
	runs     atomic.Int32
	readErr  atomic.Value // the error its read of the file ended with
	sawTemp  atomic.Bool
}

func newStreamedServer(t *testing.T, lim echorpc.FileLimits, read func(f *echorpc.File) (FileSeen, error)) *streamedServer {
	s := &streamedServer{}
	lim.Stream = true
	srv, tmp := filesServer(t, echorpc.Config{}, func(rpc *echorpc.RPC) {
		rpc.Functions(echorpc.Funcs{"pass": echorpc.Func(func(_ echo.Context, in Profile) (Received, error) {
			s.runs.Add(1)
			seen, err := read(&in.Avatar)
			s.readErr.Store(errBox{err})
			s.sawTemp.Store(len(tempFiles(t, os.Getenv("TMPDIR"))) > 0)
			return Received{Name: in.Name, Files: []FileSeen{seen}}, err
		})}, echorpc.WithFiles(lim))
	})
	s.url, s.tmp = srv.URL+"/rpc/pass", tmp
	return s
}

type errBox struct{ err error }

func TestStreamedFileArrivesWithoutATemporaryFile(t *testing.T) {
	const size = 24 << 20
	s := newStreamedServer(t, echorpc.FileLimits{MaxBody: size + 1<<20, MaxFileSize: size}, seeFile)
	want := sha256.New()
	io.Copy(want, &generated{n: size})
	c := &echorpc.Client{Endpoint: strings.TrimSuffix(s.url, "/pass")}
	var out Received
	err := c.Call(context.Background(), "pass", Profile{Name: "n", Avatar: echorpc.File{Name: "big.bin", Body: &generated{n: size}}}, &out)
	if err != nil {
		t.Fatal(err)
	}
	seen := out.Files[0]
	if seen.Read != size || seen.SHA256 != hex.EncodeToString(want.Sum(nil)) || seen.Name != "big.bin" || seen.Size != 0 {
		t.Fatalf("got %+v", seen)
	}
	if s.sawTemp.Load() {
		t.Error("a streamed file was stored in a temporary file")
	}
}

func TestStreamedFileOpensOnce(t *testing.T) {
	s := newStreamedServer(t, echorpc.FileLimits{}, func(f *echorpc.File) (FileSeen, error) {
		seen, err := seeFile(f)
		if err != nil {
			return seen, err
		}
		if _, err := f.Open(); err == nil {
			return seen, errors.New("a second Open of a streamed file succeeded")
		}
		return seen, nil
	})
	body, ct := multipartBody(t, part{name: "data", body: []byte(`{"avatar":{"$file":"a"}}`)}, part{name: "a", filename: "a.txt", body: []byte("hello")})
	status, env := postMultipart(t, s.url, ct, bytes.NewReader(body), nil)
	if status != 200 || env["ok"] != true {
		t.Fatalf("HTTP %d %v", status, env)
	}
}

// readNothing is a handler that never reads its file.
func readNothing(*echorpc.File) (FileSeen, error) { return FileSeen{}, nil }

// readSwallowing reads its file but hides the read's error, as a careless
// handler might.
func readSwallowing(f *echorpc.File) (FileSeen, error) {
	seen, _ := seeFile(f)
	return seen, nil
}

func TestStreamedFileLimitsAnswerTheCall(t *testing.T) {
	env := func(data string) part { return part{name: "data", body: []byte(data)} }
	file := func(name string, n int) part {
		return part{name: name, filename: name + ".txt", contentType: "text/plain", body: bytes.Repeat([]byte("x"), n)}
	}
	one := `{"avatar":{"$file":"a"}}`
	lim := echorpc.FileLimits{MaxBody: 16 << 10, MaxFileSize: 10 << 10, MaxParts: 3, Accept: []string{"text/plain", "image/png"}}
	for _, tc := range []struct {
		name     string
		read     func(*echorpc.File) (FileSeen, error)
		parts    []part
		truncate int // bytes cut from the body's end
		status   int
		limit    string
		runs     int32 // -1: either (a body over MaxBody may be met before or while it runs)
	}{
		{"MaxFileSize, read", seeFile, []part{env(one), file("a", 11<<10)}, 0, 413, "MaxFileSize", 1},
		{"MaxFileSize, error hidden", readSwallowing, []part{env(one), file("a", 11<<10)}, 0, 413, "MaxFileSize", 1},
		{"MaxFileSize, never read", readNothing, []part{env(one), file("a", 11<<10)}, 0, 413, "MaxFileSize", 1},
		{"MaxBody", seeFile, []part{env(`{"name":"` + strings.Repeat("n", 9<<10) + `","avatar":{"$file":"a"}}`), file("a", 8<<10)}, 0, 413, "MaxBody", -1},
		{"a part after it", seeFile, []part{env(one), file("a", 10), file("zz", 1)}, 0, 400, "", 1},
		{"MaxParts after it", seeFile, []part{env(one), file("a", 10), file("zz", 1), file("zy", 1)}, 0, 400, "", 1},
		{"truncated", seeFile, []part{env(one), file("a", 5000)}, 100, 400, "", 1},
		{"truncated, never read", readNothing, []part{env(one), file("a", 5000)}, 100, 400, "", 1},
		{"Accept, before the function", seeFile, []part{env(one), {name: "a", filename: "a.png", contentType: "image/png", body: []byte("<html><script>alert(1)</script></html>")}}, 0, 415, "Accept", 0},
		{"accepted", seeFile, []part{env(one), {name: "a", filename: "a.png", contentType: "image/png", body: []byte(pngHeader + strings.Repeat("x", 4000))}}, 0, 200, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStreamedServer(t, lim, tc.read)
			body, ct := multipartBody(t, tc.parts...)
			body = body[:len(body)-tc.truncate]
			// Without Content-Length (a MultiReader), so that MaxBody is met
			// as the body is read, not from the header.
			status, e := postMultipart(t, s.url, ct, io.MultiReader(bytes.NewReader(body)), nil)
			check(t, status, e, tc.status, tc.limit)
			if got := s.runs.Load(); tc.runs >= 0 && got != tc.runs {
				t.Errorf("the function ran %d times, want %d", got, tc.runs)
			}
			waitNoTempFiles(t, s.tmp)
		})
	}
}

// check checks an answer's status, and the limit its refusal names.
func check(t *testing.T, status int, e map[string]any, wantStatus int, limit string) {
	t.Helper()
	if status != wantStatus || (status != 200) != (e["ok"] == false) {
		t.Fatalf("HTTP %d %v, want %d", status, e, wantStatus)
	}
	if limit != "" {
		data, _ := e["data"].(map[string]any)
		if data["limit"] != limit {
			t.Errorf("the refusal does not name %s: %v", limit, e)
		}
	}
}

func TestStreamedFileClientGoneMidway(t *testing.T) {
	s := newStreamedServer(t, echorpc.FileLimits{MaxBody: 64 << 20, MaxFileSize: 64 << 20}, seeFile)
	head, ct := multipartBody(t, part{name: "data", body: []byte(`{"avatar":{"$file":"a"}}`)})
	boundary := strings.TrimPrefix(ct, "multipart/form-data; boundary=")
	head = head[:bytes.LastIndex(head, []byte("--"+boundary+"--"))]
	head = append(head, "--"+boundary+"\r\nContent-Disposition: form-data; name=\"a\"; filename=\"a.bin\"\r\n\r\n"...)
	// 4 MiB, then the client goes: the function is reading by then.
	gone := io.MultiReader(bytes.NewReader(head), &generated{n: 4 << 20}, failingReader{})
	req, _ := http.NewRequest(http.MethodPost, s.url, gone)
	req.Header.Set("Content-Type", ct)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.readErr.Load() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	box, _ := s.readErr.Load().(errBox)
	var e *echorpc.Error
	if !errors.As(box.err, &e) || e.Status != 400 {
		t.Fatalf("the function's read ended with %v, want the 400 of a body cut short", box.err)
	}
	if s.sawTemp.Load() {
		t.Error("a streamed file was stored in a temporary file")
	}
}

// failingReader is a client that goes away: its read fails after a pause,
// so that the server has read what came before.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) {
	time.Sleep(50 * time.Millisecond)
	return 0, errors.New("client gone")
}
