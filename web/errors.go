package web

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// inputError is a request the handler refused before reaching the domain: a malformed body, a
// bad query parameter, an unknown id in the path.
type inputError struct {
	status  int
	field   string
	message string
}

func (e *inputError) Error() string { return e.field + ": " + e.message }

func badRequest(field, message string) error {
	return &inputError{status: fiber.StatusBadRequest, field: field, message: message}
}

// errorBody is the one shape every API error has.
type errorBody struct {
	Error     string       `json:"error"`
	Field     string       `json:"field,omitempty"`
	Fields    []fieldError `json:"fields,omitempty"`
	RequestID string       `json:"request_id"`
}

type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// statusFor maps a domain error to its HTTP status.
func statusFor(err error) int {
	var (
		in       *inputError
		invalid  *tickets.ValidationError
		conflict *tickets.ConflictError
		fe       *fiber.Error
	)
	switch {
	case errors.As(err, &in):
		return in.status
	case errors.As(err, &invalid):
		return fiber.StatusUnprocessableEntity
	case errors.As(err, &conflict):
		return fiber.StatusConflict
	case errors.Is(err, tickets.ErrNotFound):
		return fiber.StatusNotFound
	case errors.As(err, &fe):
		return fe.Code
	case errors.Is(err, context.DeadlineExceeded):
		return fiber.StatusServiceUnavailable
	}
	return fiber.StatusInternalServerError
}

// handleError is the one error path: it maps the error to a status and a stable body, logs what a
// person needs to debug a 500, and never sends the raw error of one.
func (s *server) handleError(c *fiber.Ctx, err error) error {
	status := statusFor(err)
	body := errorBody{RequestID: requestID(c)}
	var (
		in       *inputError
		invalid  *tickets.ValidationError
		conflict *tickets.ConflictError
		fe       *fiber.Error
	)
	switch {
	case errors.As(err, &in):
		body.Error, body.Field = in.Error(), in.field
	case errors.As(err, &invalid):
		body.Error = invalid.Error()
		body.Field = invalid.Fields[0].Field
		for _, f := range invalid.Fields {
			body.Fields = append(body.Fields, fieldError{Field: f.Field, Message: f.Message})
		}
	case errors.As(err, &conflict):
		body.Error, body.Field = conflict.Error(), conflict.Field
	case errors.Is(err, tickets.ErrNotFound):
		body.Error = "not found"
	case errors.As(err, &fe) && status < 500:
		body.Error = strings.ToLower(fe.Message)
		if status == fiber.StatusRequestEntityTooLarge {
			body.Field = "body"
		}
	case status == fiber.StatusServiceUnavailable:
		body.Error = "the request took too long; try again"
		s.Logger.Warn("request timed out", "request_id", body.RequestID, "path", c.Path(), "error", err)
	default:
		status = fiber.StatusInternalServerError
		body.Error = "internal error"
		s.Logger.Error("request failed", "request_id", body.RequestID, "method", c.Method(), "path", c.Path(), "error", err)
	}
	if !wantsJSON(c) {
		msg := body.Error
		if status == fiber.StatusRequestEntityTooLarge {
			msg = fmt.Sprintf("What you sent is too large. Attach at most %d files of up to %d MB each.",
				s.Config.Form.MaxAttachments, s.Config.Form.MaxAttachmentBytes>>20)
		}
		return s.renderErrorPage(c, status, msg)
	}
	return c.Status(status).JSON(body)
}

// wantsJSON tells API requests from page requests: everything under /api speaks JSON.
func wantsJSON(c *fiber.Ctx) bool {
	return strings.HasPrefix(c.Path(), "/api/") || c.Path() == "/healthz" || c.Path() == "/readyz"
}

// mergeInvalid adds the fields of a validation error to v. Any other error is returned as is.
func mergeInvalid(v *tickets.ValidationError, err error) error {
	var invalid *tickets.ValidationError
	if errors.As(err, &invalid) {
		v.Fields = append(v.Fields, invalid.Fields...)
		return nil
	}
	return err
}
