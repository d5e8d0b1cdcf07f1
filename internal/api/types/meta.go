package types

// Shape is model metadata for one shape.
type Shape struct {
	Name      string
	Kind      string // structure, union, list, string, enum, integer
	Members   []Member
	Elem      string // list element shape
	Enum      []string
	Min, Max  *int64 // length or range
	Pattern   string
	Sensitive bool
}

// Member is one member of a structure or union.
type Member struct {
	Name             string
	Target           string // shape name; prelude shapes are String, Timestamp, Integer, Boolean
	Required         bool
	IdempotencyToken bool
	Min, Max         *int64 // length placed on the member itself
}

func ptr[T any](v T) *T { return &v }
