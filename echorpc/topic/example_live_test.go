package topic_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"sync"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/topic"
	"github.com/labstack/echo/v4"
)

// A page holds the query "list" by subscribing to "live"; a create
// invalidates it, and the page reads the list again on each item.
func ExampleLive() {
	live := topic.NewLive(topic.NewMemory(0)) // topicredis.New(...) in a fleet
	e := echo.New()
	rpc := echorpc.New(e, echorpc.Config{Prefix: "/rpc"})
	var (
		mu    sync.Mutex
		names []string
	)
	rpc.Functions(echorpc.Funcs{
		"list": echorpc.Func(func(echo.Context, struct{}) ([]string, error) {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(names), nil
		}),
	}, echorpc.Query(0))
	rpc.Functions(echorpc.Funcs{
		"create": echorpc.Func(func(_ echo.Context, name string) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			names = append(names, name)
			return name, nil
		}),
	}, live.Invalidates("list"))
	rpc.Functions(echorpc.Funcs{"live": live.Serve(rpc)})
	srv := httptest.NewServer(e)
	defer srv.Close()

	client := &echorpc.Client{Endpoint: srv.URL + "/rpc"}
	ctx := context.Background()
	n := 0
	for item, err := range client.Stream(ctx, "live", topic.LiveQuery{Query: "list"}) {
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println("live:", string(item))
		var list []string
		if err := client.Call(ctx, "list", nil, &list); err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println("list:", list)
		if n++; n == 3 {
			break
		}
		// the subscription holds the query from its first item on
		if err := client.Call(ctx, "create", fmt.Sprint("client ", n), nil); err != nil {
			fmt.Println(err)
			break
		}
	}
	// Output:
	// live: {"query":"list","start":true}
	// list: []
	// live: {"query":"list"}
	// list: [client 1]
	// live: {"query":"list"}
	// list: [client 1 client 2]
}
