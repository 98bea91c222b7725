package main

// Prints the instance's client.d.ts, which the test compares with the
// README's tester-api.d.ts block.
func main() {
	if err := snippet(); err != nil {
		fail("snippet: %v", err)
	}
	srv := httptest.NewServer(e)
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/rpc/tester/client.d.ts")
	if err != nil {
		fail("GET client.d.ts: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		fail("GET client.d.ts: %s", res.Status)
	}
	io.Copy(os.Stdout, res.Body)
}
