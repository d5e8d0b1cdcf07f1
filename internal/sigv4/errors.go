package sigv4

import (
	"errors"
	"fmt"
)

// Kind classifies a verification failure; callers map kinds to their protocol's codes.
type Kind int

const (
	_              Kind = iota
	MissingAuth         // no Authorization header or no X-Amz-Date
	Incomplete          // malformed Authorization header, credential scope or streaming headers
	UnknownKey          // the access key id is not known
	BadSignature        // the signature (of the request, a chunk or the trailer) does not match
	Expired             // the request time is outside the allowed skew
	BadPayloadHash      // the body does not match its signed hash
	BadChecksum         // the body does not match an x-amz-checksum-* header or trailer
	BadBody             // an aws-chunked body is malformed or does not match its declared length
)

var kindNames = [...]string{"", "MissingAuth", "Incomplete", "UnknownKey", "BadSignature", "Expired", "BadPayloadHash", "BadChecksum", "BadBody"}

func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is a verification failure. Messages are safe to send to the client: they never
// contain a secret.
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return e.Message }

func fail(k Kind, format string, a ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, a...)}
}

// ErrUnknownKey is what Credentials returns for an access key id it does not know.
var ErrUnknownKey = errors.New("sigv4: unknown access key")
