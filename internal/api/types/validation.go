package types

import (
	"strconv"
	"strings"
)

// Input is an operation's input: it knows how to check itself against the model.
type Input interface {
	Validate() error
}

const sensitiveValue = "*** Sensitive Data Redacted ***"

// validationErrors collects constraint violations in AWS's message format.
type validationErrors struct {
	msgs []string
}

func (e *validationErrors) missing(path string) {
	e.msgs = append(e.msgs, "Value null at '"+path+"' failed to satisfy constraint: Member must not be null")
}

func (e *validationErrors) add(path, value, constraint string) {
	v := "Value"
	if value != "" {
		v += " '" + value + "'"
	}
	e.msgs = append(e.msgs, v+" at '"+path+"' failed to satisfy constraint: "+constraint)
}

func (e *validationErrors) err() error {
	switch len(e.msgs) {
	case 0:
		return nil
	case 1:
		return &ValidationException{Message: "1 validation error detected: " + e.msgs[0]}
	}
	return &ValidationException{Message: strconv.Itoa(len(e.msgs)) + " validation errors detected: " + strings.Join(e.msgs, "; ")}
}

func listValue(n int) string { return "[" + strconv.Itoa(n) + " items]" }
