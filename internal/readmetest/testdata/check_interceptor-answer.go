package main

// The interceptor's answer reaches the caller as the function's own
// field errors would; a small order goes through.
func main() {
	if err := snippet(); err != nil {
		fail("snippet: %v", err)
	}
	srv := httptest.NewServer(e)
	defer srv.Close()
	url := srv.URL + "/rpc/tester"
	expect(srv.Client(), url, "order", `{"items": 101}`, 400,
		`{"weerpc":1.1,"ok":false,"message":"Invalid data: items must be at most 100.","data":{"errors":[{"path":"items","rule":"max","param":"100","message":"must be at most 100"}]}}`)
	expect(srv.Client(), url, "order", `{"items": 3}`, 200, `{"weerpc":1.1,"ok":true,"message":null,"data":3}`)
}
