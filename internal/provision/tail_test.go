package provision

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestTailKeepsTheEndAndReadsWhileWritten(t *testing.T) {
	tail := NewTail(64)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 100 {
			fmt.Fprintf(tail, "line %03d\n", i)
		}
	})
	for range 50 {
		_, _ = tail.Bytes() // concurrent reads must be safe (run with -race)
	}
	wg.Wait()
	got, writes := tail.Bytes()
	if writes != 100 {
		t.Errorf("writes = %d, want 100", writes)
	}
	if !strings.HasPrefix(string(got), "[earlier output dropped]\n") || !strings.HasSuffix(string(got), "line 099\n") {
		t.Errorf("tail = %q", got)
	}
	if len(got) > 64+len("[earlier output dropped]\n") {
		t.Errorf("kept %d bytes, want at most 64 of output", len(got))
	}
}
