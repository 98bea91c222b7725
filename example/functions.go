package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
)

// addNumbers is an untyped, Flask-RPC-style handler: it gets the raw JSON
// and answers with Success or Fail.
func addNumbers(c echo.Context, data json.RawMessage) echorpc.Response {
	var numbers []float64
	if err := json.Unmarshal(data, &numbers); err != nil || data[0] != '[' {
		return echorpc.Fail("Invalid data type.", map[string]string{"data": "list"})
	}
	sum := 0.0
	for _, n := range numbers {
		sum += n
	}
	return echorpc.Success(sum, "add_numbers")
}

// addString is the same kind of handler for a string.
func addString(c echo.Context, data json.RawMessage) echorpc.Response {
	var s string
	if err := json.Unmarshal(data, &s); err != nil || data[0] != '"' {
		return echorpc.Fail("Invalid data type.", map[string]string{"data": "str"})
	}
	return echorpc.Success("Hello "+s+"!", "add_string")
}

// sessionOf returns the request's session.
func sessionOf(c echo.Context) (*sessions.Session, error) {
	return session.Get("session", c)
}

// saveSession saves the session's cookie, Secure when served over TLS.
func saveSession(c echo.Context, s *sessions.Session) error {
	s.Options.Secure = c.Request().TLS != nil
	return s.Save(c.Request(), c.Response())
}

// login marks the session as logged in as user 100.
func login(c echo.Context, data json.RawMessage) echorpc.Response {
	s, err := sessionOf(c)
	if err != nil {
		c.Logger().Error(err)
		return echorpc.Fail("No session.", nil)
	}
	s.Values["logged_in"] = true
	s.Values["user_id"] = 100
	if err := saveSession(c, s); err != nil {
		c.Logger().Error(err)
		return echorpc.Fail("The session could not be saved.", nil)
	}
	return echorpc.Success(map[string]int{"user_id": 100}, "logged in")
}

// makeAdmin marks the session's user as an admin.
func makeAdmin(c echo.Context, data json.RawMessage) echorpc.Response {
	s, err := sessionOf(c)
	if err != nil {
		c.Logger().Error(err)
		return echorpc.Fail("No session.", nil)
	}
	s.Values["user_type"] = "admin"
	if err := saveSession(c, s); err != nil {
		c.Logger().Error(err)
		return echorpc.Fail("The session could not be saved.", nil)
	}
	return echorpc.Success(map[string]string{"user_type": "admin"}, "admin")
}

// logout empties the session and expires its cookie.
func logout(c echo.Context, data json.RawMessage) echorpc.Response {
	s, err := sessionOf(c)
	if err != nil {
		c.Logger().Error(err)
		return echorpc.Fail("No session.", nil)
	}
	for k := range s.Values {
		delete(s.Values, k)
	}
	s.Options.MaxAge = -1
	if err := saveSession(c, s); err != nil {
		c.Logger().Error(err)
		return echorpc.Fail("The session could not be saved.", nil)
	}
	return echorpc.Success(nil, "logged out")
}

// sessionValues answers the session's values as a JSON object.
func sessionValues(c echo.Context, data json.RawMessage) echorpc.Response {
	s, err := sessionOf(c)
	if err != nil {
		c.Logger().Error(err)
		return echorpc.Fail("No session.", nil)
	}
	values := make(map[string]any, len(s.Values))
	for k, v := range s.Values {
		values[fmt.Sprint(k)] = v
	}
	return echorpc.Success(values, "")
}

// The clients functions are typed handlers: echorpc decodes the data into
// their input type, and their output is the reply's data.

// NewClient is the input of create.
type NewClient struct {
	Name string `json:"name"`
}

// ClientID names a client, for read and delete.
type ClientID struct {
	ClientID int64 `json:"client_id"`
}

// ClientUpdate is the input of update.
type ClientUpdate struct {
	ClientID int64  `json:"client_id"`
	Name     string `json:"name"`
}

// clientFuncs are the CRUD functions of /rpc/clients.
func clientFuncs(store *Store) echorpc.Funcs {
	found := func(c Client, err error) (Client, error) {
		if errors.Is(err, errNotFound) {
			return Client{}, echorpc.FailWith("Client not found.", nil)
		}
		return c, err
	}
	return echorpc.Funcs{
		"create": echorpc.Func(func(c echo.Context, in NewClient) (Client, error) {
			name, err := validName(in.Name)
			if err != nil {
				return Client{}, err
			}
			return store.Create(c.Request().Context(), name)
		}),
		"read": echorpc.Func(func(c echo.Context, in ClientID) (Client, error) {
			return found(store.Read(c.Request().Context(), in.ClientID))
		}),
		"update": echorpc.Func(func(c echo.Context, in ClientUpdate) (Client, error) {
			name, err := validName(in.Name)
			if err != nil {
				return Client{}, err
			}
			return found(store.Update(c.Request().Context(), in.ClientID, name))
		}),
		"delete": echorpc.Func(func(c echo.Context, in ClientID) (Client, error) {
			return found(store.Delete(c.Request().Context(), in.ClientID))
		}),
	}
}

// validName refuses a missing, empty or overlong client name.
func validName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", echorpc.FailWith("A client needs a name.", map[string]string{"field": "name"})
	case len(name) > 200:
		return "", echorpc.FailWith("A client's name is at most 200 bytes.", map[string]string{"field": "name"})
	}
	return name, nil
}
