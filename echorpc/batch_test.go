package echorpc_test

import (
	"encoding/json"
	"testing"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
)

func TestBatch(t *testing.T) {
	newServer := func(maxBatch int) *echo.Echo {
		e := echo.New()
		e.Logger.SetOutput(testWriter{t})
		rpc := echorpc.New(e, echorpc.Config{Prefix: "/rpc", MaxBatch: maxBatch})
		rpc.Functions(testFuncs(nil))
		rpc.Functions(echorpc.Funcs{"local": echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response { return echorpc.Success("", data) })},
			echorpc.WithHostAuth("127.0.0.1:5000"))
		return e
	}
	tests := []struct {
		name         string
		givenMax     int
		whenBody     string
		expectStatus int
		expectBody   string
	}{
		{name: "200-order-and-mixed-results", givenMax: 10,
			whenBody: `[{"weerpc":1.1,"function":"add_numbers","data":[1,2]},{"wrpc":1.0,"function":"fail"},{"weerpc":1.1,"function":"nope"},` +
				`{"weerpc":1.1,"function":"boom"},{"weerpc":1.1,"function":"local","data":1},{"weerpc":1.1,"function":"echo","data":[]},7,{}]`,
			expectStatus: 200,
			expectBody: `[{"weerpc":1.1,"ok":true,"message":null,"data":3,"status":200},` +
				`{"wrpc":1.0,"ok":false,"message":"Invalid data type.","data":{"data":"list"},"status":200},` +
				`{"weerpc":1.1,"ok":false,"message":"Invalid function.","data":null,"status":404},` +
				`{"weerpc":1.1,"ok":false,"message":"Internal error.","data":null,"status":500},` +
				`{"weerpc":1.1,"ok":false,"message":"Unauthorized (example.com)","data":null,"status":403},` +
				`{"weerpc":1.1,"ok":true,"message":"echoed","data":[],"status":200},` +
				`{"weerpc":1.1,"ok":false,"message":"Request must be a JSON object.","data":null,"status":400},` +
				`{"weerpc":1.1,"ok":false,"message":"Request must not be empty.","data":null,"status":400}]`},
		{name: "413-too-many", givenMax: 2,
			whenBody:     `[{"weerpc":1.1,"function":"echo"},{"weerpc":1.1,"function":"echo"},{"weerpc":1.1,"function":"echo"}]`,
			expectStatus: 413, expectBody: `{"weerpc":1.1,"ok":false,"message":"Batch has more than 2 calls.","data":{"maxBatch":2}}`},
		{name: "400-empty-batch", givenMax: 2, whenBody: `[]`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request must not be empty.","data":null}`},
		{name: "400-malformed-batch", givenMax: 2, whenBody: `[{"weerpc":1.1,"function":"echo"},]`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request is not valid JSON (offset 34).","data":null}`},
		{name: "400-batching-off", givenMax: 0, whenBody: `[{"weerpc":1.1,"function":"echo"}]`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Batches are off on this instance: send one call per request.","data":{"maxBatch":0}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newServer(tt.givenMax)
			rec := post(e, "/rpc", "application/json", tt.whenBody)
			assert.Equal(t, tt.expectStatus, rec.Code)
			assert.Equal(t, tt.expectBody, rec.Body.String())
		})
	}
}
