package echorpc

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
)

// A call's context reads what middleware stored on the request's, keeps
// what it sets and what it writes to itself, and has the route's path and
// parameters.
func TestCallContext(t *testing.T) {
	e := echo.New()
	req := httptest.NewRequest(http.MethodPost, "/rpc/x?a=1", nil)
	parentRec := httptest.NewRecorder()
	parent := e.NewContext(req, parentRec)
	parent.SetPath("/rpc/:name")
	parent.SetParamNames("name")
	parent.SetParamValues("x")
	parent.Set("user", "ada")

	rec := httptest.NewRecorder()
	c := newCallContext(parent, rec)
	assert.Equal(t, "ada", c.Get("user"), "middleware's values read through")
	c.Set("user", "bob")
	c.Set("mine", 1)
	assert.Equal(t, "bob", c.Get("user"))
	assert.Equal(t, "ada", parent.Get("user"), "the call's values stay its own")
	assert.Nil(t, parent.Get("mine"))
	assert.Equal(t, "/rpc/:name", c.Path())
	assert.Equal(t, "x", c.Param("name"))
	assert.Equal(t, "1", c.QueryParam("a"))
	assert.Same(t, req, c.Request())

	c.SetCookie(&http.Cookie{Name: "s", Value: "v"})
	assert.NoError(t, c.String(http.StatusTeapot, "mine"))
	assert.Equal(t, http.StatusTeapot, rec.Code)
	assert.Equal(t, "mine", rec.Body.String())
	assert.Contains(t, rec.Header().Get("Set-Cookie"), "s=v")
	assert.False(t, parent.Response().Committed, "nothing reached the request's response")
	assert.Empty(t, parentRec.Header().Get("Set-Cookie"))
	assert.Same(t, parent.Logger(), c.Logger())
}
