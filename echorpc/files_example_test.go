package echorpc_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
)

// A function that takes a file beside a JSON field, and one that answers
// with a file, called from the Go client.
func ExampleFile() {
	type Upload struct {
		Title string       `json:"title"`
		Doc   echorpc.File `json:"doc"`
	}
	e := echo.New()
	rpc := echorpc.New(e, echorpc.Config{Prefix: "/rpc"})
	rpc.Functions(echorpc.Funcs{
		"count_words": echorpc.Func(func(_ echo.Context, in Upload) (string, error) {
			r, err := in.Doc.Open()
			if err != nil {
				return "", err
			}
			defer r.Close()
			b, err := io.ReadAll(r)
			return fmt.Sprintf("%s: %s (%s, %d bytes) has %d words", in.Title, in.Doc.Name, in.Doc.Type, in.Doc.Size, len(strings.Fields(string(b)))), err
		}),
		"greeting": echorpc.Func(func(_ echo.Context, name string) (echorpc.File, error) {
			text := "hello, " + name + "\n"
			return echorpc.File{Name: "greeting.txt", Type: "text/plain; charset=utf-8", Size: int64(len(text)), Body: strings.NewReader(text)}, nil
		}),
	}, echorpc.WithFiles(echorpc.FileLimits{MaxFileSize: 1 << 20, Accept: []string{"text/plain"}}))
	srv := httptest.NewServer(e)
	defer srv.Close()

	client := &echorpc.Client{Endpoint: srv.URL + "/rpc"}
	ctx := context.Background()
	var answer string
	err := client.Call(ctx, "count_words", Upload{Title: "notes",
		Doc: echorpc.File{Name: "notes.txt", Type: "text/plain", Body: strings.NewReader("one two three")}}, &answer)
	fmt.Println(answer, err)

	client.MaxReplyBytes = 1 << 10
	var f echorpc.File
	err = client.Call(ctx, "greeting", "ann", &f)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := f.Open() // the reply's body, bounded by MaxReplyBytes
	defer body.Close()
	b, err := io.ReadAll(body)
	fmt.Printf("%s %s %q %v\n", f.Name, f.Type, b, err)
	// Output:
	// notes: notes.txt (text/plain, 13 bytes) has 3 words <nil>
	// greeting.txt text/plain "hello, ann\n" <nil>
}
