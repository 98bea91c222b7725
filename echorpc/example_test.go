package echorpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
)

// postJSON sends a raw request body and prints the reply's status and body.
func postJSON(url, body string) {
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Body.Close()
	reply, _ := io.ReadAll(res.Body)
	fmt.Println(res.StatusCode, string(reply))
}

func ExampleNew() {
	e := echo.New()
	rpc := echorpc.New(e.Group("/rpc/tester"), echorpc.Config{})
	rpc.Functions(echorpc.Funcs{
		"add_numbers": echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response {
			var numbers []float64
			if err := json.Unmarshal(data, &numbers); err != nil {
				return echorpc.Fail("Invalid data type.", map[string]string{"data": "list"})
			}
			sum := 0.0
			for _, n := range numbers {
				sum += n
			}
			return echorpc.Success("add_numbers", sum)
		}),
	})
	srv := httptest.NewServer(e)
	defer srv.Close()

	postJSON(srv.URL+"/rpc/tester", `{"weerpc": 1.1, "function": "add_numbers", "data": [1, 2, 3]}`)
	postJSON(srv.URL+"/rpc/tester", `{"wrpc": 1.0, "function": "add_numbers", "data": "x"}`)
	postJSON(srv.URL+"/rpc/tester", `{"weerpc": 1.1, "function": "nope"}`)
	// Output:
	// 200 {"weerpc":1.1,"ok":true,"message":"add_numbers","data":6}
	// 200 {"wrpc":1.0,"ok":false,"message":"Invalid data type.","data":{"data":"list"}}
	// 404 {"weerpc":1.1,"ok":false,"message":"Invalid function.","data":null}
}

func ExampleRPC_Functions() {
	e := echo.New()
	rpc := echorpc.New(e, echorpc.Config{Prefix: "/rpc"})
	subtractNumbers := echorpc.Func(func(c echo.Context, in [2]int) (int, error) {
		return in[0] - in[1], nil
	})
	// The name callers use is the key: "subtract" calls subtractNumbers.
	rpc.Functions(echorpc.Funcs{"subtract": subtractNumbers})
	// Rules given as options guard only the functions registered with them.
	rpc.Functions(echorpc.Funcs{"office_only": subtractNumbers}, echorpc.WithRemoteAuth("10.20.0.0/16"))

	srv := httptest.NewServer(e)
	defer srv.Close()
	postJSON(srv.URL+"/rpc", `{"weerpc": 1.1, "function": "subtract", "data": [5, 3]}`)
	postJSON(srv.URL+"/rpc", `{"weerpc": 1.1, "function": "office_only", "data": [5, 3]}`)
	// Output:
	// 200 {"weerpc":1.1,"ok":true,"message":null,"data":2}
	// 403 {"weerpc":1.1,"ok":false,"message":"Unauthorized (127.0.0.1)","data":null}
}

func ExampleFunc() {
	type greeting struct {
		Name string `json:"name"`
	}
	hello := echorpc.Func(func(c echo.Context, in greeting) (string, error) {
		if in.Name == "" {
			return "", &echorpc.Error{Message: "Name is required.", Data: map[string]string{"field": "name"}}
		}
		return "Hello " + in.Name + "!", nil
	})
	e := echo.New()
	echorpc.New(e, echorpc.Config{Prefix: "/rpc"}).Functions(echorpc.Funcs{"hello": hello})
	srv := httptest.NewServer(e)
	defer srv.Close()

	postJSON(srv.URL+"/rpc", `{"weerpc": 1.1, "function": "hello", "data": {"name": "Ada"}}`)
	postJSON(srv.URL+"/rpc", `{"weerpc": 1.1, "function": "hello", "data": {}}`)
	postJSON(srv.URL+"/rpc", `{"weerpc": 1.1, "function": "hello", "data": {"name": 7}}`)
	// Output:
	// 200 {"weerpc":1.1,"ok":true,"message":null,"data":"Hello Ada!"}
	// 200 {"weerpc":1.1,"ok":false,"message":"Name is required.","data":{"field":"name"}}
	// 400 {"weerpc":1.1,"ok":false,"message":"Invalid data: name must be a string.","data":{"errors":[{"path":"name","rule":"type","param":"string","message":"must be a string"}]}}
}

func ExampleClient_Call() {
	e := echo.New()
	echorpc.New(e, echorpc.Config{Prefix: "/rpc"}).Functions(echorpc.Funcs{
		"add_numbers": echorpc.Func(func(c echo.Context, in []int) (int, error) {
			sum := 0
			for _, n := range in {
				sum += n
			}
			return sum, nil
		}),
	})
	srv := httptest.NewServer(e)
	defer srv.Close()

	client := &echorpc.Client{Endpoint: srv.URL + "/rpc"}
	var sum int
	if err := client.Call(context.Background(), "add_numbers", []int{1, 2, 3}, &sum); err != nil {
		fmt.Println(err)
	}
	fmt.Println(sum)

	err := client.Call(context.Background(), "subtract", []int{1, 2}, nil)
	var rpcErr *echorpc.Error
	if errors.As(err, &rpcErr) {
		fmt.Println(rpcErr.Status, rpcErr.Message)
	}
	// Output:
	// 6
	// 404 Invalid function.
}

func ExampleStream() {
	e := echo.New()
	echorpc.New(e, echorpc.Config{Prefix: "/rpc"}).Functions(echorpc.Funcs{
		"countdown": echorpc.Stream(func(c echo.Context, n int, send func(id string, item int) error) error {
			for i := n; i > 0; i-- {
				if err := send("", i); err != nil {
					return err // the caller went away, or the deadline passed
				}
			}
			return nil
		}),
	})
	srv := httptest.NewServer(e)
	defer srv.Close()

	client := &echorpc.Client{Endpoint: srv.URL + "/rpc"}
	for item, err := range client.Stream(context.Background(), "countdown", 3) {
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(string(item))
	}
	// Output:
	// 3
	// 2
	// 1
}
