package api

import (
	"errors"
	"fmt"

	"github.com/openproton/openproton/internal/api/types"
)

// Error is an error the protocol layer can put on the wire: a code (the `__type`) and an
// HTTP status. Every modelled error type implements it.
type Error interface {
	error
	ErrorCode() string
	HTTPStatus() int
	ErrorMessage() string
}

// ProtocolError is an error of the protocol itself rather than of an operation: unknown
// target, malformed body, authentication failures, not-implemented operations.
type ProtocolError struct {
	Code    string
	Status  int
	Message string
}

func (e *ProtocolError) Error() string        { return e.Code + ": " + e.Message }
func (e *ProtocolError) ErrorCode() string    { return e.Code }
func (e *ProtocolError) HTTPStatus() int      { return e.Status }
func (e *ProtocolError) ErrorMessage() string { return e.Message }

// NotImplemented is answered by operations whose semantics openproton has not built yet.
func NotImplemented(op string) *ProtocolError {
	return &ProtocolError{Code: "NotImplementedException", Status: 501,
		Message: "openproton does not implement " + op + " yet; see the operation status table in the README"}
}

// NotImplementedf refuses a part of an operation (a parameter, a kind of template) that
// openproton has not built yet.
func NotImplementedf(format string, a ...any) *ProtocolError {
	return &ProtocolError{Code: "NotImplementedException", Status: 501, Message: "openproton does not implement " + fmt.Sprintf(format, a...)}
}

// Constructors for the modelled errors, so service code reads as the semantics it states.
func Validationf(format string, a ...any) error {
	return &types.ValidationException{Message: fmt.Sprintf(format, a...)}
}

func NotFoundf(format string, a ...any) error {
	return &types.ResourceNotFoundException{Message: fmt.Sprintf(format, a...)}
}

func Conflictf(format string, a ...any) error {
	return &types.ConflictException{Message: fmt.Sprintf(format, a...)}
}

func AccessDeniedf(format string, a ...any) error {
	return &types.AccessDeniedException{Message: fmt.Sprintf(format, a...)}
}

func QuotaExceededf(format string, a ...any) error {
	return &types.ServiceQuotaExceededException{Message: fmt.Sprintf(format, a...)}
}

// AsError finds the wire error in err's chain.
func AsError(err error) (Error, bool) {
	var e Error
	ok := errors.As(err, &e)
	return e, ok
}

// Restrict maps err to one the operation may answer with. The model lists each
// operation's errors; a missing resource in an operation that cannot report
// ResourceNotFoundException is a ValidationException, and anything else unlisted is an
// internal error.
func Restrict(op *Operation, e Error) Error {
	if _, ok := e.(*ProtocolError); ok {
		return e
	}
	code := e.ErrorCode()
	for _, allowed := range op.Errors {
		if allowed == code {
			return e
		}
	}
	switch code {
	case "ResourceNotFoundException", "ConflictException":
		return &types.ValidationException{Message: e.ErrorMessage()}
	}
	return &types.InternalServerException{Message: "internal error"}
}
