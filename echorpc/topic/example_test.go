package topic_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/topic"
	"github.com/labstack/echo/v4"
)

func ExampleServe() {
	engine := topic.NewMemory(0) // topicredis.New(...) in a fleet
	e := echo.New()
	echorpc.New(e, echorpc.Config{Prefix: "/rpc"}).Functions(echorpc.Funcs{
		// every caller here sees the topic "news"; derive it from the
		// session (and refuse with a 403 *echorpc.Error) to scope it
		"news": topic.Serve[struct{}, Note](engine, func(echo.Context, struct{}) (string, error) {
			return "news", nil
		}),
	})
	srv := httptest.NewServer(e)
	defer srv.Close()

	go func() {
		time.Sleep(300 * time.Millisecond) // the stream is open by then
		for i := range 3 {
			topic.Publish(context.Background(), engine, "news", Note{N: i})
		}
	}()
	client := &echorpc.Client{Endpoint: srv.URL + "/rpc"}
	n := 0
	for item, err := range client.Stream(context.Background(), "news", nil) {
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(string(item))
		if n++; n == 3 {
			break
		}
	}
	// Output:
	// {"n":0}
	// {"n":1}
	// {"n":2}
}
