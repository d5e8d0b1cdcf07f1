package api

import (
	"context"

	"github.com/openproton/openproton/internal/api/types"
)

// Operation describes one Proton operation as the model states it.
type Operation struct {
	Name             string
	Input, Output    string // shape names
	NewInput         func() types.Input
	Invoke           func(ctx context.Context, s Service, in types.Input) (any, error)
	Errors           []string // modelled error codes this operation may answer with
	IdempotencyToken string   // input member carrying the client token, if any
	ReadOnly         bool
	Idempotent       bool
	Paginator        *Paginator
}

// Paginator names the members an operation pages with.
type Paginator struct {
	InputToken, OutputToken, PageSize, Items string
}
