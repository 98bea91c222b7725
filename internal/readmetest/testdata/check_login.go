package main

// login writes the session the rule reads; logout ends it; a cookie that
// does not decode does not stop a login.
func main() {
	if err := snippet(); err != nil {
		fail("snippet: %v", err)
	}
	e.Use(session.Middleware(store))
	srv := httptest.NewServer(e)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	url := srv.URL + "/rpc/auth"
	unauthorized := `{"weerpc":1.1,"ok":false,"message":"Unauthorized.","data":null}`
	expect(hc, url, "whoami", "", 401, unauthorized)
	expect(hc, url, "login", `{"user": "ada", "password": "babbage"}`, 200, `{"weerpc":1.1,"ok":false,"message":"Wrong user or password.","data":null}`)
	expect(hc, url, "whoami", "", 401, unauthorized)
	expect(hc, url, "login", `{"user": "ada", "password": "lovelace"}`, 200, `{"weerpc":1.1,"ok":true,"message":null,"data":"ada"}`)
	expect(hc, url, "whoami", "", 200, `{"weerpc":1.1,"ok":true,"message":null,"data":"ada"}`)
	expect(hc, url, "logout", "", 200, `{"weerpc":1.1,"ok":true,"message":null,"data":null}`)
	expect(hc, url, "whoami", "", 401, unauthorized)

	u, _ := neturl.Parse(srv.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: "not-a-signed-cookie"}})
	expect(hc, url, "whoami", "", 401, unauthorized)
	expect(hc, url, "login", `{"user": "ada", "password": "lovelace"}`, 200, `{"weerpc":1.1,"ok":true,"message":null,"data":"ada"}`)
	expect(hc, url, "whoami", "", 200, `{"weerpc":1.1,"ok":true,"message":null,"data":"ada"}`)

	// A cookie that does not decode can be logged out: the browser drops it.
	jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: "not-a-signed-cookie"}})
	expect(hc, url, "logout", "", 200, `{"weerpc":1.1,"ok":true,"message":null,"data":null}`)
	if cs := jar.Cookies(u); len(cs) != 0 {
		fail("logout left the cookie: %v", cs)
	}
}
