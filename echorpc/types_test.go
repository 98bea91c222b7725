package echorpc_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
)

// playground is Echo's usual e.Validator, on go-playground/validator.
type playground struct{ v *validator.Validate }

func (p playground) Validate(i any) error { return p.v.Struct(i) }

type lineItem struct {
	SKU string `json:"sku" validate:"required"`
	Qty int    `json:"qty" validate:"min=1"`
}

type audit struct {
	By string `json:"by" validate:"required"`
}

type order struct {
	audit                   // inlined on the wire
	Customer string         `json:"customer" validate:"required,max=10"`
	Items    []lineItem     `json:"items" validate:"dive"`
	Notes    []string       `json:"notes"`
	Tags     map[string]int `json:"tags"`
}

func typesServer(t *testing.T) *echo.Echo {
	t.Helper()
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	e.Validator = playground{validator.New()}
	rpc := echorpc.New(e, echorpc.Config{Prefix: "/rpc"})
	rpc.Functions(echorpc.Funcs{
		"name": echorpc.Func(func(c echo.Context, in struct {
			Name string `json:"name"`
		}) (string, error) {
			return in.Name, nil
		}),
		"order": echorpc.Func(func(c echo.Context, in order) (order, error) { return in, nil }),
		"empty": echorpc.Func(func(c echo.Context, in any) (order, error) { return order{}, nil }),
		"ptr":   echorpc.Func(func(c echo.Context, in *lineItem) (bool, error) { return in == nil, nil }),
		"forbidden": echorpc.Func(func(c echo.Context, in any) (any, error) {
			return nil, echo.NewHTTPError(http.StatusForbidden, "no way").SetInternal(errors.New("secret internal detail"))
		}),
		"teapot": echorpc.Func(func(c echo.Context, in any) (any, error) {
			return nil, echo.NewHTTPError(http.StatusUnprocessableEntity, map[string]string{"field": "x"})
		}),
	})
	rpc.Functions(echorpc.Funcs{
		"strict": echorpc.Func(func(c echo.Context, in lineItem) (int, error) { return in.Qty, nil }),
	}, echorpc.RefuseUnknownFields())
	echorpc.New(e, echorpc.Config{Prefix: "/strict", RefuseUnknownFields: true}).Functions(echorpc.Funcs{
		"strict": echorpc.Func(func(c echo.Context, in lineItem) (int, error) { return in.Qty, nil }),
	})
	return e
}

func TestTypedDataSemantics(t *testing.T) {
	e := typesServer(t)
	tests := []struct {
		name         string
		whenPath     string
		whenBody     string
		expectStatus int
		expectBody   string
	}{
		{name: "200-names-match-exactly", whenBody: `{"weerpc":1.1,"function":"name","data":{"name":"lower","NAME":"UPPER"}}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":null,"data":"lower"}`},
		{name: "400-repeated-nested-name", whenBody: `{"weerpc":1.1,"function":"order","data":{"by":"a","customer":"c","items":[{"sku":"a","qty":1,"qty":2}]}}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid data: items.0.qty is repeated.","data":{"errors":[{"path":"items.0.qty","rule":"duplicate","message":"is repeated"}]}}`},
		{name: "400-wrong-type-at-path", whenBody: `{"weerpc":1.1,"function":"order","data":{"by":"a","customer":"c","items":[{"sku":"a","qty":1},{"sku":"b","qty":"two"}]}}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid data: items.1.qty must be an integer.","data":{"errors":[{"path":"items.1.qty","rule":"type","param":"integer","message":"must be an integer"}]}}`},
		{name: "200-unknown-ignored", whenBody: `{"weerpc":1.1,"function":"name","data":{"name":"a","extra":1}}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":null,"data":"a"}`},
		{name: "400-unknown-refused-by-option", whenBody: `{"weerpc":1.1,"function":"strict","data":{"sku":"a","qty":1,"colour":"red"}}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid data: colour is not a known field.","data":{"errors":[{"path":"colour","rule":"unknown","message":"is not a known field"}]}}`},
		{name: "400-unknown-refused-by-config", whenPath: "/strict", whenBody: `{"weerpc":1.1,"function":"strict","data":{"sku":"a","qty":1,"colour":"red"}}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid data: colour is not a known field.","data":{"errors":[{"path":"colour","rule":"unknown","message":"is not a known field"}]}}`},
		{name: "200-nil-slices-and-maps-are-empty", whenBody: `{"weerpc":1.1,"function":"empty"}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":null,"data":{"by":"","customer":"","items":[],"notes":[],"tags":{}}}`},
		{name: "400-validation-with-json-names", whenBody: `{"weerpc":1.1,"function":"order","data":{"customer":"far too long a name","items":[{"sku":"a","qty":1},{"sku":"","qty":0}]}}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid data: by is required.","data":{"errors":[` +
				`{"path":"by","rule":"required","message":"is required"},` +
				`{"path":"customer","rule":"max","param":"10","message":"must be at most 10"},` +
				`{"path":"items.1.sku","rule":"required","message":"is required"},` +
				`{"path":"items.1.qty","rule":"min","param":"1","message":"must be at least 1"}]}}`},
		{name: "200-null-pointer-input-reaches-handler", whenBody: `{"weerpc":1.1,"function":"ptr","data":null}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":null,"data":true}`},
		{name: "400-pointer-input-validated", whenBody: `{"weerpc":1.1,"function":"ptr","data":{"sku":"","qty":1}}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid data: sku is required.","data":{"errors":[{"path":"sku","rule":"required","message":"is required"}]}}`},
		{name: "403-echo-http-error", whenBody: `{"weerpc":1.1,"function":"forbidden"}`,
			expectStatus: 403, expectBody: `{"weerpc":1.1,"ok":false,"message":"no way","data":null}`},
		{name: "422-echo-http-error-with-map", whenBody: `{"weerpc":1.1,"function":"teapot"}`,
			expectStatus: 422, expectBody: `{"weerpc":1.1,"ok":false,"message":"Unprocessable Entity","data":{"field":"x"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/rpc"
			if tt.whenPath != "" {
				path = tt.whenPath
			}
			rec := post(e, path, "application/json", tt.whenBody)
			assert.Equal(t, tt.expectStatus, rec.Code)
			assert.Equal(t, tt.expectBody, rec.Body.String())
			assert.NotContains(t, rec.Body.String(), "main.")
			assert.NotContains(t, rec.Body.String(), "echorpc_test.")
			assert.NotContains(t, rec.Body.String(), "secret internal detail")
		})
	}
}

// A validator that answers with an echo.HTTPError is answered with its
// status, and a map message goes into data as JSON.
func TestValidatorHTTPError(t *testing.T) {
	e := echo.New()
	e.Validator = validatorFunc(func(i any) error {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, map[string]any{"name": "too short"})
	})
	echorpc.New(e, echorpc.Config{Prefix: "/rpc"}).Functions(echorpc.Funcs{
		"f": echorpc.Func(func(c echo.Context, in lineItem) (int, error) { return 0, nil }),
	})
	rec := post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"f","data":{}}`)
	assert.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	assert.Equal(t, `{"weerpc":1.1,"ok":false,"message":"Unprocessable Entity","data":{"name":"too short"}}`, rec.Body.String())

	e.Validator = validatorFunc(func(i any) error { return errors.New("quantity looks wrong") })
	rec = post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"f","data":{}}`)
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Equal(t, `{"weerpc":1.1,"ok":false,"message":"Invalid data: quantity looks wrong.","data":{"errors":[{"path":"","rule":"invalid","message":"quantity looks wrong"}]}}`, rec.Body.String())
}

type validatorFunc func(i any) error

func (f validatorFunc) Validate(i any) error { return f(i) }

// The handler's echo.HTTPError Internal is logged, never sent.
func TestHTTPErrorInternalIsLogged(t *testing.T) {
	e := typesServer(t)
	var log bytes.Buffer
	e.Logger.SetOutput(&log)
	rec := post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"forbidden"}`)
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.Contains(t, log.String(), "secret internal detail")
	var env map[string]any
	assert.NoError(t, json.Unmarshal(rec.Body.Bytes(), &env))
	assert.False(t, strings.Contains(rec.Body.String(), "internal"))
}
