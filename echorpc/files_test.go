package echorpc_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
)

// Profile is a typed input with files beside JSON fields.
type Profile struct {
	Name   string         `json:"name"`
	Avatar echorpc.File   `json:"avatar"`
	Docs   []echorpc.File `json:"docs"`
}

// Received is what a file function saw of each file.
type Received struct {
	Name  string     `json:"name"`
	Files []FileSeen `json:"files"`
}

type FileSeen struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Size   int64  `json:"size"`
	Read   int64  `json:"read"`
	SHA256 string `json:"sha256"`
}

// seeFile reads a file as a handler does, as a stream.
func seeFile(f *echorpc.File) (FileSeen, error) {
	r, err := f.Open()
	if err != nil {
		return FileSeen{}, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	return FileSeen{Name: f.Name, Type: f.Type, Size: f.Size, Read: n, SHA256: hex.EncodeToString(h.Sum(nil))}, err
}

func receiveProfile(_ echo.Context, in Profile) (Received, error) {
	out := Received{Name: in.Name}
	for _, f := range append([]echorpc.File{in.Avatar}, in.Docs...) {
		if f.Size == 0 && f.Name == "" && f.Type == "" {
			continue // absent
		}
		seen, err := seeFile(&f)
		if err != nil {
			return out, err
		}
		out.Files = append(out.Files, seen)
	}
	return out, nil
}

// filesServer is a real server with file functions, whose temporary
// files go to a directory of the test's own.
func filesServer(t *testing.T, cfg echorpc.Config, register func(rpc *echorpc.RPC)) (*httptest.Server, string) {
	t.Helper()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	if cfg.Prefix == "" {
		cfg.Prefix = "/rpc"
	}
	rpc := echorpc.New(e, cfg)
	rpc.Functions(echorpc.Funcs{
		"profile": echorpc.Func(receiveProfile),
		"plain":   echorpc.Func(func(_ echo.Context, in struct{ A int }) (int, error) { return in.A, nil }),
	})
	rpc.Functions(echorpc.Funcs{"avatar": echorpc.Func(receiveProfile)}, echorpc.WithFiles(echorpc.FileLimits{Accept: []string{"image/*"}}))
	if register != nil {
		register(rpc)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv, tmp
}

// tempFiles lists what a test's temporary directory holds.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// waitNoTempFiles waits (a few seconds at most) until dir is empty.
func waitNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		names := tempFiles(t, dir)
		if len(names) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("temporary files left behind: %v", names)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// part is one part of a hand-made multipart body.
type part struct {
	name, filename, contentType string
	body                        []byte
	header                      map[string]string
}

// multipartBody builds a multipart body from its parts.
func multipartBody(t testing.TB, parts ...part) (body []byte, contentType string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name=%q`, p.name)
		if p.filename != "" {
			cd += fmt.Sprintf(`; filename=%q`, p.filename)
		}
		h.Set("Content-Disposition", cd)
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		for k, v := range p.header {
			h.Set(k, v)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.body)
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// postMultipart posts a body to the server and decodes its envelope.
func postMultipart(t testing.TB, url, contentType string, body io.Reader, header map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, body)
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var env map[string]any
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("HTTP %d, not an envelope: %q", res.StatusCode, raw)
	}
	return res.StatusCode, env
}

const pngHeader = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"

func TestUploadTheWire(t *testing.T) {
	srv, tmp := filesServer(t, echorpc.Config{}, nil)
	big := bytes.Repeat([]byte("0123456789abcdef"), 16<<10) // 256 KiB: past the memory threshold
	sum := sha256.Sum256(big)
	for _, tc := range []struct{ name, path, first, json string }{
		{"route", "/rpc", "envelope", `{"weerpc":1.1,"function":"profile","data":{"name":"ann","avatar":{"$file":"a"},"docs":[{"$file":"d"}]}}`},
		{"function URL", "/rpc/profile", "data", `{"name":"ann","avatar":{"$file":"a"},"docs":[{"$file":"d"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, ct := multipartBody(t,
				part{name: tc.first, body: []byte(tc.json)},
				part{name: "a", filename: "me.png", contentType: "image/png", body: []byte(pngHeader)},
				part{name: "d", filename: "notes.bin", body: big})
			status, env := postMultipart(t, srv.URL+tc.path, ct, bytes.NewReader(body), nil)
			if status != 200 || env["ok"] != true {
				t.Fatalf("HTTP %d %v", status, env)
			}
			files := env["data"].(map[string]any)["files"].([]any)
			a, d := files[0].(map[string]any), files[1].(map[string]any)
			if a["name"] != "me.png" || a["type"] != "image/png" || a["size"] != float64(len(pngHeader)) || a["read"] != float64(len(pngHeader)) {
				t.Errorf("avatar seen as %v", a)
			}
			if d["name"] != "notes.bin" || d["type"] != "application/octet-stream" || d["size"] != float64(len(big)) || d["sha256"] != hex.EncodeToString(sum[:]) {
				t.Errorf("doc seen as %v", d)
			}
			waitNoTempFiles(t, tmp)
		})
	}
}

func TestUploadFromTheGoClient(t *testing.T) {
	srv, tmp := filesServer(t, echorpc.Config{}, nil)
	c := &echorpc.Client{Endpoint: srv.URL + "/rpc"}
	var out Received
	err := c.Call(context.Background(), "profile", Profile{Name: "bob",
		Avatar: echorpc.File{Name: "../../etc/passwd", Type: "text/plain", Body: strings.NewReader("root:x:0:0")},
		Docs:   []echorpc.File{{Name: "b.txt", Body: strings.NewReader("second")}}}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if out.Name != "bob" || len(out.Files) != 2 || out.Files[0].Name != "passwd" || out.Files[0].Read != 10 || out.Files[1].Name != "b.txt" || out.Files[1].Read != 6 {
		t.Errorf("got %+v", out)
	}
	// A File inside data of type any is sent as a file too, and data of
	// type any without files as JSON.
	out = Received{}
	err = c.Call(context.Background(), "profile", map[string]any{"name": "cy", "avatar": echorpc.File{Name: "c.txt", Body: strings.NewReader("abc")}}, &out)
	if err != nil || len(out.Files) != 1 || out.Files[0].Read != 3 {
		t.Errorf("in a map: %+v %v", out, err)
	}
	out = Received{}
	if err = c.Call(context.Background(), "profile", map[string]any{"name": "di"}, &out); err != nil || out.Name != "di" || len(out.Files) != 0 {
		t.Errorf("no files in a map: %+v %v", out, err)
	}
	// A refusal reaches the client as an *Error.
	err = c.Call(context.Background(), "avatar", Profile{Avatar: echorpc.File{Name: "x.png", Type: "image/png", Body: strings.NewReader("<html><script>")}}, nil)
	var e *echorpc.Error
	if !errors.As(err, &e) || e.Status != 415 {
		t.Errorf("an HTML avatar: %v", err)
	}
	waitNoTempFiles(t, tmp)
}

// generated is n bytes made on the fly, never held whole: byte i is
// i % 251, copied from a pattern (so that making them costs a benchmark
// little beside what it measures).
type generated struct{ n, off int64 }

// pattern251 is the bytes 0, 1, ..., 250, over and over, 64 KiB and more.
var pattern251 = func() []byte {
	b := make([]byte, 251*262)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}()

func (g *generated) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	if int64(len(p)) > g.n-g.off {
		p = p[:g.n-g.off]
	}
	for n := 0; n < len(p); {
		n += copy(p[n:], pattern251[(g.off+int64(n))%251:])
	}
	g.off += int64(len(p))
	return len(p), nil
}

func TestUpload200MBKeepsTheHeapSmall(t *testing.T) {
	const size = 200 << 20
	var sawTemp atomic.Bool
	srv, tmp := filesServer(t, echorpc.Config{}, func(rpc *echorpc.RPC) {
		rpc.Functions(echorpc.Funcs{"big": echorpc.Func(func(c echo.Context, in Profile) (Received, error) {
			sawTemp.Store(len(tempFiles(t, os.Getenv("TMPDIR"))) == 1)
			return receiveProfile(c, in)
		})}, echorpc.WithFiles(echorpc.FileLimits{MaxBody: size + 1<<20, MaxFileSize: size}))
	})
	runtime.GC()
	stop := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var m runtime.MemStats
		var most uint64
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				peak <- most
				return
			case <-tick.C:
				runtime.ReadMemStats(&m)
				most = max(most, m.HeapInuse)
			}
		}
	}()
	c := &echorpc.Client{Endpoint: srv.URL + "/rpc"}
	var out Received
	err := c.Call(context.Background(), "big", Profile{Avatar: echorpc.File{Name: "big.bin", Body: &generated{n: size}}}, &out)
	close(stop)
	most := <-peak
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Files) != 1 || out.Files[0].Size != size || out.Files[0].Read != size {
		t.Fatalf("got %+v", out)
	}
	if !sawTemp.Load() {
		t.Error("the handler did not see its file in TMPDIR")
	}
	t.Logf("peak HeapInuse during a %d MiB upload: %.1f MiB", size>>20, float64(most)/(1<<20))
	if most > 32<<20 {
		t.Errorf("peak HeapInuse %d bytes, want under 32 MiB", most)
	}
	waitNoTempFiles(t, tmp)
}

// halfThenGone sends half of a body, waits for the server's temporary
// file, then fails, as a client that goes away does.
type halfThenGone struct {
	generated
	dir string
}

func (h *halfThenGone) Read(p []byte) (int, error) {
	if h.off >= h.n/2 {
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if entries, _ := os.ReadDir(h.dir); len(entries) > 0 {
				break
			}
		}
		return 0, errors.New("client gone")
	}
	if int64(len(p)) > h.n/2-h.off {
		p = p[:h.n/2-h.off]
	}
	return h.generated.Read(p)
}

func TestClientGoneAtHalfLeavesNoTempFile(t *testing.T) {
	srv, tmp := filesServer(t, echorpc.Config{}, nil)
	head, ct := multipartBody(t, part{name: "data", body: []byte(`{"avatar":{"$file":"a"}}`)})
	head = head[:bytes.LastIndex(head, []byte("--"+strings.TrimPrefix(ct, "multipart/form-data; boundary=")+"--"))]
	head = append(head, "--"+strings.TrimPrefix(ct, "multipart/form-data; boundary=")+"\r\nContent-Disposition: form-data; name=\"a\"; filename=\"a.bin\"\r\n\r\n"...)
	body := io.MultiReader(bytes.NewReader(head), &halfThenGone{generated: generated{n: 4 << 20}, dir: tmp})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/rpc/profile", body)
	req.Header.Set("Content-Type", ct)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Logf("the server answered %d", res.StatusCode)
	}
	waitNoTempFiles(t, tmp)
}

func TestCrossSiteMultipartRefusedBeforeAnyPart(t *testing.T) {
	srv, _ := filesServer(t, echorpc.Config{}, nil)
	for _, header := range []map[string]string{
		{"Origin": "http://evil.test"},
		{"Sec-Fetch-Site": "cross-site"},
	} {
		// The body never sends a byte: the answer comes from the headers.
		pr, pw := io.Pipe()
		done := make(chan struct{})
		var status int
		var env map[string]any
		go func() {
			defer close(done)
			status, env = postMultipart(t, srv.URL+"/rpc/profile", "multipart/form-data; boundary=x", pr, header)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%v: no answer without the body", header)
		}
		pw.Close()
		if status != 403 || env["ok"] != false || !strings.Contains(env["message"].(string), "another origin") {
			t.Errorf("%v: HTTP %d %v", header, status, env)
		}
	}
}

func TestFileLimitsAreRefusedNamingThem(t *testing.T) {
	srv, tmp := filesServer(t, echorpc.Config{}, func(rpc *echorpc.RPC) {
		rpc.Functions(echorpc.Funcs{"small": echorpc.Func(receiveProfile)}, echorpc.WithFiles(echorpc.FileLimits{
			MaxBody: 64 << 10, MaxFileSize: 1000, MaxFiles: 2, MaxParts: 3, MaxEnvelope: 200, MaxPartHeader: 1024}))
	})
	env := func(data string) part { return part{name: "data", body: []byte(data)} }
	file := func(name string, n int) part {
		return part{name: name, filename: name + ".bin", body: bytes.Repeat([]byte("x"), n)}
	}
	for _, tc := range []struct {
		name   string
		parts  []part
		status int
		limit  string
	}{
		{"MaxBody", []part{env(`{"avatar":{"$file":"a"}}`), file("a", 70<<10)}, 413, "MaxBody"},
		{"MaxFileSize", []part{env(`{"avatar":{"$file":"a"}}`), file("a", 1001)}, 413, "MaxFileSize"},
		{"MaxFiles", []part{env(`{"avatar":{"$file":"a"},"docs":[{"$file":"b"},{"$file":"c"}]}`), file("a", 1), file("b", 1), file("c", 1)}, 413, "MaxFiles"},
		{"MaxParts", []part{env(`{"avatar":{"$file":"a"},"docs":[{"$file":"b"}]}`), file("a", 1), file("b", 1), file("c", 1)}, 413, "MaxParts"},
		{"MaxEnvelope", []part{env(`{"name":"` + strings.Repeat("n", 300) + `"}`)}, 413, "MaxEnvelope"},
		{"MaxPartHeader", []part{env(`{"avatar":{"$file":"a"}}`), {name: "a", body: []byte("x"), header: map[string]string{"X-Pad": strings.Repeat("p", 16<<10)}}}, 413, "MaxPartHeader"},
		{"unreferenced part", []part{env(`{"avatar":{"$file":"a"}}`), file("a", 1), file("zz", 1)}, 400, ""},
		{"missing part", []part{env(`{"avatar":{"$file":"a"}}`)}, 400, ""},
		{"repeated part", []part{env(`{"avatar":{"$file":"a"}}`), file("a", 1), file("a", 1)}, 400, ""},
		{"first part not data", []part{file("a", 1)}, 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, ct := multipartBody(t, tc.parts...)
			status, e := postMultipart(t, srv.URL+"/rpc/small", ct, bytes.NewReader(body), nil)
			if status != tc.status || e["ok"] != false {
				t.Fatalf("HTTP %d %v, want %d", status, e, tc.status)
			}
			msg, _ := e["message"].(string)
			if tc.limit != "" {
				data, _ := e["data"].(map[string]any)
				if data["limit"] != tc.limit || !strings.Contains(msg, "FileLimits."+tc.limit) {
					t.Errorf("the refusal does not name %s: %v", tc.limit, e)
				}
			}
			t.Logf("%d %s", status, msg)
		})
	}
	waitNoTempFiles(t, tmp)
}

func TestMultipartToAFunctionWithoutFiles(t *testing.T) {
	srv, _ := filesServer(t, echorpc.Config{}, nil)
	body, ct := multipartBody(t, part{name: "data", body: []byte(`{"A":1}`)})
	status, env := postMultipart(t, srv.URL+"/rpc/plain", ct, bytes.NewReader(body), nil)
	if status != 415 || env["message"] != "Request must be JSON." {
		t.Errorf("HTTP %d %v", status, env)
	}
	// A file function called with JSON and a reference is told to send parts.
	res, _ := http.Post(srv.URL+"/rpc/profile", "application/json", strings.NewReader(`{"avatar":{"$file":"a"}}`))
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || !strings.Contains(string(raw), "multipart/form-data") {
		t.Errorf("HTTP %d %s", res.StatusCode, raw)
	}
}

func TestFileNamesAreHarmless(t *testing.T) {
	srv, tmp := filesServer(t, echorpc.Config{}, nil)
	for given, want := range map[string]string{
		"../../etc/passwd":        "passwd",
		`..\..\windows\win.ini`:   "win.ini",
		"a\x00b\x01c\x1b[31m.txt": "abc[31m.txt",
		"..":                      "",
		"/":                       "",
		"tab\tand\x7fdel.txt":     "tabanddel.txt",
	} {
		body, ct := multipartBody(t, part{name: "data", body: []byte(`{"avatar":{"$file":"a"}}`)},
			part{name: "a", header: map[string]string{"Content-Disposition": `form-data; name="a"; filename*=UTF-8''` + percentEncoded(given)}, body: bytes.Repeat([]byte("z"), 100<<10)})
		status, env := postMultipart(t, srv.URL+"/rpc/profile", ct, bytes.NewReader(body), nil)
		if status != 200 {
			t.Errorf("%q: HTTP %d %v", given, status, env)
			continue
		}
		files, _ := env["data"].(map[string]any)["files"].([]any)
		if len(files) != 1 || files[0].(map[string]any)["name"] != want {
			t.Errorf("%q: seen as %v, want %q", given, files, want)
		}
	}
	waitNoTempFiles(t, tmp)
	if _, err := os.Stat("/etc/passwd.wrpc"); err == nil {
		t.Error("a file appeared outside TMPDIR")
	}
}

// percentEncoded encodes every byte of s, as RFC 2231 allows, so that
// control characters reach the server's multipart parser.
func percentEncoded(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

func TestImagesOnlyRefusesHTMLDeclaredPNG(t *testing.T) {
	srv, tmp := filesServer(t, echorpc.Config{}, nil)
	for _, tc := range []struct {
		name, declared, content string
		status                  int
	}{
		{"html as png", "image/png", "<!DOCTYPE html><html><script>alert(1)</script>", 415},
		{"text as png", "image/png", "just some words", 415},
		{"png as png", "image/png", pngHeader, 200},
		{"png declared as html", "text/html", pngHeader, 415},
	} {
		body, ct := multipartBody(t, part{name: "data", body: []byte(`{"avatar":{"$file":"a"}}`)},
			part{name: "a", filename: "x.png", contentType: tc.declared, body: []byte(tc.content)})
		status, env := postMultipart(t, srv.URL+"/rpc/avatar", ct, bytes.NewReader(body), nil)
		if status != tc.status {
			t.Errorf("%s: HTTP %d %v, want %d", tc.name, status, env, tc.status)
		}
	}
	waitNoTempFiles(t, tmp)
}

func TestMalformedMultipartGetsAnEnvelope(t *testing.T) {
	srv, tmp := filesServer(t, echorpc.Config{}, nil)
	var many []part
	many = append(many, part{name: "data", body: []byte(`{"avatar":{"$file":"a"}}`)})
	for i := 0; i < 1000; i++ {
		many = append(many, part{name: fmt.Sprint("p", i), body: []byte("x")})
	}
	tiny, tinyCT := multipartBody(t, many...)
	refs := make([]string, 1000)
	for i := range refs {
		refs[i] = fmt.Sprintf(`{"$file":"p%d"}`, i)
	}
	many[0] = part{name: "data", body: []byte(`{"docs":[` + strings.Join(refs, ",") + `]}`)}
	referenced, referencedCT := multipartBody(t, many...)
	ok, okCT := multipartBody(t, part{name: "data", body: []byte(`{"avatar":{"$file":"a"}}`)}, part{name: "a", filename: "a", body: bytes.Repeat([]byte("y"), 100<<10)})
	truncated := ok[:len(ok)-len("--\r\n")-40]
	hugeHeader := []byte("--b\r\nContent-Disposition: form-data; name=\"data\"\r\nX-Pad: " + strings.Repeat("h", 1<<20) + "\r\n\r\n{}\r\n--b--\r\n")
	for _, tc := range []struct {
		name, ct string
		body     []byte
		status   int
	}{
		{"1,000 tiny parts", tinyCT, tiny, 400},
		{"1,000 tiny parts, all referenced", referencedCT, referenced, 413},
		{"no boundary", "multipart/form-data", ok, 400},
		{"truncated final part", okCT, truncated, 400},
		{"a 1 MB part header", "multipart/form-data; boundary=b", hugeHeader, 413},
		{"wrong boundary", "multipart/form-data; boundary=nope", ok, 400},
		{"empty body", okCT, nil, 400},
	} {
		status, env := postMultipart(t, srv.URL+"/rpc/profile", tc.ct, bytes.NewReader(tc.body), nil)
		if status != tc.status || env["ok"] != false {
			t.Errorf("%s: HTTP %d %v, want %d", tc.name, status, env, tc.status)
		}
		t.Logf("%s: %d %v", tc.name, status, env["message"])
	}
	waitNoTempFiles(t, tmp)
}

func TestTempFileRemovedHoweverTheCallEnds(t *testing.T) {
	srv, tmp := filesServer(t, echorpc.Config{}, func(rpc *echorpc.RPC) {
		rpc.Functions(echorpc.Funcs{
			"fails":  echorpc.Func(func(echo.Context, Profile) (int, error) { return 0, errors.New("boom") }),
			"panics": echorpc.Func(func(echo.Context, Profile) (int, error) { panic("boom") }),
			"slow": echorpc.Func(func(c echo.Context, _ Profile) (int, error) {
				<-c.Request().Context().Done()
				return 0, c.Request().Context().Err()
			}),
		}, echorpc.WithTimeout(200*time.Millisecond))
	})
	for name, status := range map[string]int{"fails": 500, "panics": 500, "slow": 504} {
		body, ct := multipartBody(t, part{name: "data", body: []byte(`{"avatar":{"$file":"a"}}`)},
			part{name: "a", filename: "a", body: bytes.Repeat([]byte("y"), 200<<10)})
		got, env := postMultipart(t, srv.URL+"/rpc/"+name, ct, bytes.NewReader(body), nil)
		if got != status {
			t.Errorf("%s: HTTP %d %v, want %d", name, got, env, status)
		}
		waitNoTempFiles(t, tmp)
	}
}

func TestFunctionRulesRefuseBeforeAnyFileIsRead(t *testing.T) {
	var seen []string
	record := func(next echorpc.CallFunc) echorpc.CallFunc {
		return func(c echo.Context, call echorpc.Call) echorpc.Result {
			res := next(c, call)
			seen = append(seen, fmt.Sprintf("%s %s rejected=%v %d", call.Function, call.Data, call.Rejected, res.Status))
			return res
		}
	}
	srv, tmp := filesServer(t, echorpc.Config{Interceptors: []echorpc.Interceptor{record}}, func(rpc *echorpc.RPC) {
		rpc.Functions(echorpc.Funcs{"guarded": echorpc.Func(receiveProfile)}, echorpc.WithHostAuth("elsewhere.test"))
	})
	// The envelope part arrives, the file part never does: the function's
	// rule answers first.
	head, ct := multipartBody(t, part{name: "data", body: []byte(`{"avatar":{"$file":"a"}}`)})
	boundary := strings.TrimPrefix(ct, "multipart/form-data; boundary=")
	head = append(head[:bytes.LastIndex(head, []byte("--"+boundary+"--"))], "--"+boundary+"\r\nContent-Disposition: form-data; name=\"a\"; filename=\"a\"\r\n\r\n"...)
	pr, pw := io.Pipe()
	go pw.Write(head)
	done := make(chan struct{})
	var status int
	go func() {
		defer close(done)
		status, _ = postMultipart(t, srv.URL+"/rpc/guarded", ct, pr, nil)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("no answer before the file")
	}
	pw.Close()
	if status != 403 {
		t.Errorf("HTTP %d, want 403", status)
	}
	if names := tempFiles(t, tmp); len(names) != 0 {
		t.Errorf("temporary files: %v", names)
	}
	// Interceptors see file calls as any other (a refusal without its data,
	// as for JSON calls), their data with references.
	body, ct := multipartBody(t, part{name: "data", body: []byte(`{"avatar":{"$file":"a"}}`)}, part{name: "a", filename: "a", body: []byte("x")})
	if status, env := postMultipart(t, srv.URL+"/rpc/profile", ct, bytes.NewReader(body), nil); status != 200 {
		t.Fatalf("HTTP %d %v", status, env)
	}
	want := []string{`guarded  rejected=true 403`, `profile {"avatar":{"$file":"a"}} rejected=false 200`}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("interceptors saw %q, want %q", seen, want)
	}
}
