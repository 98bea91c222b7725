// This program does not compile, on purpose: pipeline_test.go builds it to
// check the compiler's message when a plain function is registered.
package main

import (
	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
)

func add(c echo.Context, in []float64) (float64, error) { return 0, nil }

func main() {
	e := echo.New()
	echorpc.New(e.Group("/rpc"), echorpc.Config{Functions: echorpc.Funcs{"add": add}})
}
