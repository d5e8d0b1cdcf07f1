package provision

import "sync"

// Tail keeps the last bytes written to it: a job's output, bounded. It is safe to read
// while a job writes, so a deployment's log can be looked at before it ends.
type Tail struct {
	mu        sync.Mutex
	max       int
	buf       []byte
	truncated bool
	writes    int
}

// NewTail keeps the last max bytes.
func NewTail(max int) *Tail { return &Tail{max: max} }

func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
		t.truncated = true
	}
	t.writes++
	return len(p), nil
}

// Bytes returns a copy of what is kept, marked when earlier output was dropped, and a
// count of writes so far (to tell whether anything changed since an earlier call).
func (t *Tail) Bytes() ([]byte, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]byte, 0, len(t.buf)+32)
	if t.truncated {
		out = append(out, "[earlier output dropped]\n"...)
	}
	return append(out, t.buf...), t.writes
}
