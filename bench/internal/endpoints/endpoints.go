// Package endpoints is the server the benchmarks under bench/ measure: a
// typed echorpc function at /rpc and hand-written Echo handlers doing the
// same work at /plain and /static, as echorpc's own BenchmarkRatio has.
package endpoints

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
)

// Body is the request of every endpoint, as echorpc's benchmarks send it.
const Body = `{"weerpc": 1.1, "function": "add_numbers", "data": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}`

// Sum is the answer's data for Body.
const Sum = `"data":55`

// New makes the server. The instance at /rpc has the interceptors given.
//
//	/rpc     echorpc.Func summing a []float64
//	/plain   what one writes without echorpc: decode, check, sum, c.JSON
//	/static  reads the body and sends a reply made beforehand: no JSON
//	         work, the ceiling of any handler of this request
func New(interceptors ...echorpc.Interceptor) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(io.Discard)
	echorpc.New(e, echorpc.Config{Prefix: "/rpc", Interceptors: interceptors}).Functions(echorpc.Funcs{
		"add_numbers": echorpc.Func(func(c echo.Context, in []float64) (float64, error) { return sum(in), nil }),
	})
	e.POST("/plain", plain)
	e.POST("/static", static)
	return e
}

func sum(in []float64) float64 {
	s := 0.0
	for _, n := range in {
		s += n
	}
	return s
}

type plainRequest struct {
	Weerpc   float64   `json:"weerpc"`
	Function string    `json:"function"`
	Data     []float64 `json:"data"`
}

type plainReply struct {
	Weerpc  float64 `json:"weerpc"`
	OK      bool    `json:"ok"`
	Message *string `json:"message"`
	Data    any     `json:"data"`
}

func plain(c echo.Context) error {
	var req plainRequest
	if err := json.NewDecoder(c.Request().Body).Decode(&req); err != nil {
		return c.JSON(http.StatusBadRequest, plainReply{Weerpc: 1.1})
	}
	if req.Weerpc != 1.1 || req.Function != "add_numbers" {
		return c.JSON(http.StatusBadRequest, plainReply{Weerpc: 1.1})
	}
	return c.JSON(http.StatusOK, plainReply{Weerpc: 1.1, OK: true, Data: sum(req.Data)})
}

var staticReply = []byte(`{"weerpc":1.1,"ok":true,"message":null,"data":55}`)

func static(c echo.Context) error {
	if _, err := io.Copy(io.Discard, c.Request().Body); err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, staticReply)
}
