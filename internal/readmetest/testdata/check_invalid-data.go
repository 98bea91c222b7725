package main

// A handler's own field errors reach the caller as decoding's do.
func main() {
	if err := snippet(); err != nil {
		fail("snippet: %v", err)
	}
	rpc.Functions(echorpc.Funcs{"signup": echorpc.Func(func(c echo.Context, email string) (string, error) {
		if err := emailFree(c, email); err != nil {
			return "", err
		}
		return email, nil
	})})
	srv := httptest.NewServer(e)
	defer srv.Close()
	expect(srv.Client(), srv.URL+"/rpc/tester", "signup", `"ada@example.com"`, 400,
		`{"weerpc":1.1,"ok":false,"message":"Invalid data: email is taken.","data":{"errors":[{"path":"email","rule":"unique","message":"is taken"}]}}`)
}
