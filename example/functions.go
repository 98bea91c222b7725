package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/go-playground/validator/v10"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/idempotency"
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
	if math.IsInf(sum, 0) || math.IsNaN(sum) {
		// JSON has no infinity: a sum past the largest float64 is the
		// caller's problem to hear about, not a 500.
		return echorpc.Fail("The sum is not a finite number.", map[string]string{"data": "list of numbers with a finite sum"})
	}
	return echorpc.Success("add_numbers", sum)
}

// addString is the same kind of handler for a string.
func addString(c echo.Context, data json.RawMessage) echorpc.Response {
	var s string
	if err := json.Unmarshal(data, &s); err != nil || data[0] != '"' {
		return echorpc.Fail("Invalid data type.", map[string]string{"data": "str"})
	}
	return echorpc.Success("add_string", "Hello "+s+"!")
}

// sessionFailed answers a session store that failed: 503 with Retry-After
// when Redis did not answer (the outages interceptor answers what
// markOutage records), ok:false otherwise. A cookie that does not decode
// is not a failure: see sessionOf.
func sessionFailed(c echo.Context, err error) echorpc.Response {
	var down *unavailableError
	if errors.As(err, &down) {
		markOutage(c, down)
	} else {
		c.Logger().Error(err)
	}
	return echorpc.Fail("The session store failed.", nil)
}

// login starts a fresh session, logged in as user 100. Whatever the
// session held before is dropped, and a stored session gets a new id, so a
// session planted before login is not the one that logs in.
func login(c echo.Context, data json.RawMessage) echorpc.Response {
	s, err := freshSession(c)
	if err != nil {
		return sessionFailed(c, err)
	}
	s.Values["logged_in"] = true
	s.Values["user_id"] = 100
	if err := saveSession(c, s); err != nil {
		return sessionFailed(c, err)
	}
	return echorpc.Success("logged in", map[string]int{"user_id": 100})
}

// makeAdmin marks the logged-in session's user as an admin (it is
// registered behind a logged_in rule).
func makeAdmin(c echo.Context, data json.RawMessage) echorpc.Response {
	s, err := sessionOf(c)
	if err != nil {
		return sessionFailed(c, err)
	}
	s.Values["user_type"] = "admin"
	if err := saveSession(c, s); err != nil {
		return sessionFailed(c, err)
	}
	return echorpc.Success("admin", map[string]string{"user_type": "admin"})
}

// logout ends the session and expires its cookie (see endSession). It
// needs no logged-in session, so a browser whose cookie no longer decodes
// (the key changed) can still log out and lose the cookie.
func logout(c echo.Context, data json.RawMessage) echorpc.Response {
	if err := endSession(c); err != nil {
		return sessionFailed(c, err)
	}
	return echorpc.Success("logged out", nil)
}

// sessionValues answers the session's values as a JSON object.
func sessionValues(c echo.Context, data json.RawMessage) echorpc.Response {
	s, err := sessionOf(c)
	if err != nil {
		return sessionFailed(c, err)
	}
	values := make(map[string]any, len(s.Values))
	for k, v := range s.Values {
		values[fmt.Sprint(k)] = v
	}
	return echorpc.Success("", values)
}

// The clients functions are typed handlers: echorpc decodes the data into
// their input type, and their output is the reply's data.

// NewClient is the input of create.
type NewClient struct {
	Name string `json:"name" validate:"required,max=200"`
}

// ClientID names a client, for read and delete.
type ClientID struct {
	ClientID int64 `json:"client_id"`
}

// ClientUpdate is the input of update.
type ClientUpdate struct {
	ClientID int64  `json:"client_id"`
	Name     string `json:"name" validate:"required,max=200"`
}

// clientFuncs are the update and delete functions of /rpc/clients (create
// is createFunc); each write is announced on changes.
func clientFuncs(store *Store, changes *Changes) echorpc.Funcs {
	announce := func(op string) func(Client, error) (Client, error) {
		return func(c Client, err error) (Client, error) {
			if err == nil {
				changes.Publish(op, c)
			}
			return c, err
		}
	}
	found := func(c Client, err error) (Client, error) {
		if errors.Is(err, errNotFound) {
			return Client{}, &echorpc.Error{Message: "Client not found."}
		}
		return c, err
	}
	return echorpc.Funcs{
		"update": echorpc.Func(func(c echo.Context, in ClientUpdate) (Client, error) {
			name, err := validName(in.Name)
			if err != nil {
				return Client{}, err
			}
			return found(announce("update")(store.Update(c.Request().Context(), in.ClientID, name)))
		}),
		"delete": echorpc.Func(func(c echo.Context, in ClientID) (Client, error) {
			return found(announce("delete")(store.Delete(c.Request().Context(), in.ClientID)))
		}),
	}
}

// createFunc is create, registered Idempotent: the clients send an
// Idempotency-Key with each call and retry it after a failure on the way,
// the instance answers a retry with the first try's stored outcome, and the
// key goes into the row with the write (Store.CreateOnce), so a retry that
// finds no outcome (its instance died after the commit) finds the row:
// exactly one row per call. Only the write that made the row announces it.
// beforeCreate, when not nil, runs before create writes (the tests' hook
// for a slow write).
func createFunc(store *Store, changes *Changes, beforeCreate func(echo.Context)) echorpc.Funcs {
	return echorpc.Funcs{
		"create": echorpc.Func(func(c echo.Context, in NewClient) (Client, error) {
			name, err := validName(in.Name)
			if err != nil {
				return Client{}, err
			}
			if beforeCreate != nil {
				beforeCreate(c)
			}
			client, created, err := store.CreateOnce(c.Request().Context(), name, idempotency.Key(c))
			if err == nil && created {
				changes.Publish("create", client)
			}
			return client, err
		}),
	}
}

// clientQueries are the functions of /rpc/clients that only read: they are
// registered as queries, so they also answer GET.
func clientQueries(store *Store) echorpc.Funcs {
	return echorpc.Funcs{
		"list": echorpc.Func(func(c echo.Context, _ struct{}) ([]Client, error) {
			return store.List(c.Request().Context())
		}),
		"read": echorpc.Func(func(c echo.Context, in ClientID) (Client, error) {
			c2, err := store.Read(c.Request().Context(), in.ClientID)
			if errors.Is(err, errNotFound) {
				return Client{}, &echorpc.Error{Message: "Client not found."}
			}
			return c2, err
		}),
	}
}

// validName trims a client's name; the validator (see newValidator) has
// refused a missing or overlong one, and a blank one is refused here with
// the same field error.
func validName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", echorpc.InvalidData(echorpc.FieldError{Path: "name", Rule: "required", Message: "is required"})
	}
	return name, nil
}

// structValidator is Echo's e.Validator on go-playground/validator, the
// usual choice: echorpc turns its errors into field errors with the JSON
// names ({"path": "name", "rule": "required", ...}). It returns the
// validator's error as is; one wrapped in echo.NewHTTPError, as Echo's
// guide writes it, gives the same field errors.
type structValidator struct{ v *validator.Validate }

func newValidator() echo.Validator { return structValidator{validator.New()} }

func (s structValidator) Validate(i any) error { return s.v.Struct(i) }
