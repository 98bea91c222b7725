package main

// The typed handler answers as the README says, with its validator set.
func main() {
	if err := snippet(); err != nil {
		fail("snippet: %v", err)
	}
	// A pointer input: null gives the handler nil, unvalidated; {} is validated.
	rpc.Functions(echorpc.Funcs{"hello_ptr": echorpc.Func(func(c echo.Context, in *Greeting) (string, error) {
		if in == nil {
			return "nil", nil
		}
		return in.Name, nil
	})})
	srv := httptest.NewServer(e)
	defer srv.Close()
	url := srv.URL + "/rpc/tester"
	required := `{"weerpc":1.1,"ok":false,"message":"Invalid data: name is required.","data":{"errors":[{"path":"name","rule":"required","message":"is required"}]}}`
	expect(srv.Client(), url, "hello", `{"name": "Ada"}`, 200, `{"weerpc":1.1,"ok":true,"message":null,"data":"Hello Ada!"}`)
	expect(srv.Client(), url, "hello", `{}`, 400, required)
	expect(srv.Client(), url, "hello", `null`, 400, required)
	expect(srv.Client(), url, "hello", ``, 400, required)
	expect(srv.Client(), url, "hello_ptr", `null`, 200, `{"weerpc":1.1,"ok":true,"message":null,"data":"nil"}`)
	expect(srv.Client(), url, "hello_ptr", ``, 200, `{"weerpc":1.1,"ok":true,"message":null,"data":"nil"}`)
	expect(srv.Client(), url, "hello_ptr", `{}`, 400, required)
	expect(srv.Client(), url, "hello", `{"name": "root"}`, 200, `{"weerpc":1.1,"ok":false,"message":"Not that one.","data":{"field":"name"}}`)
	expect(srv.Client(), url, "hello", `{"name": "nobody"}`, 200, `{"weerpc":1.1,"ok":false,"message":"No one is called \"nobody\".","data":null}`)
	expect(srv.Client(), url, "hello", `{"name": "admin"}`, 403, `{"weerpc":1.1,"ok":false,"message":"no way","data":null}`)
}
