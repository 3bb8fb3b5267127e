package web

import (
	"context"
	"errors"
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

// describe maps an error to its HTTP status and the body the client sees. A 5xx body never holds
// the error itself.
func describe(err error) (int, errorBody) {
	var (
		in       *inputError
		invalid  *tickets.ValidationError
		conflict *tickets.ConflictError
		fe       *fiber.Error
		body     errorBody
	)
	switch {
	case errors.As(err, &in):
		body.Error, body.Field = in.Error(), in.field
		return in.status, body
	case errors.As(err, &invalid):
		body.Error, body.Field = invalid.Error(), invalid.Fields[0].Field
		for _, f := range invalid.Fields {
			body.Fields = append(body.Fields, fieldError{Field: f.Field, Message: f.Message})
		}
		return fiber.StatusUnprocessableEntity, body
	case errors.As(err, &conflict):
		body.Error, body.Field = conflict.Error(), conflict.Field
		return fiber.StatusConflict, body
	case errors.Is(err, tickets.ErrNotFound):
		body.Error = "not found"
		return fiber.StatusNotFound, body
	case errors.As(err, &fe) && fe.Code < 500:
		body.Error = strings.ToLower(fe.Message)
		if fe.Code == fiber.StatusRequestEntityTooLarge {
			body.Field = "body"
		}
		return fe.Code, body
	case errors.Is(err, context.DeadlineExceeded):
		body.Error = "the request took too long; try again"
		return fiber.StatusServiceUnavailable, body
	}
	body.Error = "internal error"
	return fiber.StatusInternalServerError, body
}

// handleError is the one error path: it answers with a stable body, in JSON for the API and as a
// page for people, and logs what a person needs to debug a 5xx.
func (s *server) handleError(c *fiber.Ctx, err error) error {
	status, body := describe(err)
	body.RequestID = requestID(c)
	switch {
	case status == fiber.StatusServiceUnavailable:
		s.Logger.Warn("request timed out", "request_id", body.RequestID, "path", c.Path(), "error", err)
	case status >= 500:
		s.Logger.Error("request failed", "request_id", body.RequestID, "method", c.Method(), "path", c.Path(), "error", err)
	}
	if !wantsJSON(c) {
		w := s.wordsFor(c)
		var msg string
		switch {
		case status == fiber.StatusNotFound:
			msg = w.T("error_404_lead")
		case status == fiber.StatusRequestEntityTooLarge:
			msg = w.T("error_upload_too_large", "Count", s.Config.Form.MaxAttachments, "MB", s.Config.Form.MaxAttachmentBytes>>20)
		case status >= 500:
			msg = w.T("error_500_lead", "RequestID", body.RequestID)
		default:
			msg = w.T(sentence(body.Error))
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
