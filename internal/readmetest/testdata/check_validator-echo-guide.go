package main

// Echo's guide's validator gives the same field errors as the validator's
// own error, and never its text with Go struct names.
func main() {
	if err := snippet(); err != nil {
		fail("snippet: %v", err)
	}
	type Signup struct {
		Email string `json:"email" validate:"required,email"`
	}
	rpc.Functions(echorpc.Funcs{"signup": echorpc.Func(func(c echo.Context, in Signup) (string, error) { return in.Email, nil })})
	srv := httptest.NewServer(e)
	defer srv.Close()
	url := srv.URL + "/rpc/tester"
	expect(srv.Client(), url, "signup", `{}`, 400,
		`{"weerpc":1.1,"ok":false,"message":"Invalid data: email is required.","data":{"errors":[{"path":"email","rule":"required","message":"is required"}]}}`)
	_, body := post(srv.Client(), url, "signup", `{"email": "not an address"}`)
	if !strings.Contains(body, `"path":"email","rule":"email"`) || strings.Contains(body, "Signup.Email") {
		fail("signup with a bad address: %s", body)
	}
}
