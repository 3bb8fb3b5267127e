package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// decodeJSON reads a request body into dst strictly: the body must be one JSON object of dst's
// shape, with no unknown fields and nothing after it. Every failure names the field at fault.
func decodeJSON(c *fiber.Ctx, dst any) error {
	if !strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationJSON) {
		return &inputError{status: fiber.StatusUnsupportedMediaType, field: "body", message: "must be sent as application/json"}
	}
	body := c.Body()
	if len(body) > apiBodyLimit {
		return &inputError{status: fiber.StatusRequestEntityTooLarge, field: "body", message: fmt.Sprintf("must be at most %d MB", apiBodyLimit>>20)}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("body", "is required: send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("body", "must hold one JSON object and nothing after it")
	}
	return nil
}

func jsonError(err error) error {
	var (
		syntax    *json.SyntaxError
		typeError *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		return badRequest("body", "malformed JSON at byte "+strconv.FormatInt(syntax.Offset, 10))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("body", "malformed JSON: it ends too early")
	case errors.As(err, &typeError):
		field := typeError.Field
		if field == "" {
			return badRequest("body", "must be a JSON object")
		}
		return badRequest(field, "must be "+jsonTypeName(typeError.Type.String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return badRequest(name, "is not a known field")
	}
	return badRequest("body", "malformed JSON")
}

// jsonTypeName says what JSON value a Go type takes, in the words of an API user.
func jsonTypeName(goType string) string {
	goType = strings.TrimPrefix(goType, "*")
	switch {
	case goType == "string":
		return "a string"
	case goType == "web.nullableID":
		return "a positive id or null"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	}
	return "an object"
}

var typeOfNullableID = reflect.TypeOf(nullableID{})

// nullableID is an id field that a PATCH may set, clear with null, or leave out.
type nullableID struct {
	set bool
	id  int64
}

func (n *nullableID) UnmarshalJSON(b []byte) error {
	n.set = true
	if string(b) == "null" {
		n.id = 0
		return nil
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || id <= 0 {
		return &json.UnmarshalTypeError{Value: string(b), Type: typeOfNullableID}
	}
	n.id = id
	return nil
}

// nullableString is a text field that a PATCH may set, clear with null or "", or leave out.
type nullableString struct {
	set   bool
	value string
}

func (n *nullableString) UnmarshalJSON(b []byte) error {
	n.set = true
	if string(b) == "null" {
		n.value = ""
		return nil
	}
	if err := json.Unmarshal(b, &n.value); err != nil {
		return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeOf("")}
	}
	return nil
}
