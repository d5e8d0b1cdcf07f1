package store

import (
	"slices"
	"testing"
)

func TestPageSize(t *testing.T) {
	for limit, want := range map[int]int{-1: 100, 0: 100, 1: 1, 1000: 1000, 1001: 1000} {
		if got := (Page{Limit: limit}).Size(); got != want {
			t.Errorf("Page{Limit: %d}.Size() = %d, want %d", limit, got, want)
		}
	}
}

func TestSetOutputs(t *testing.T) {
	cur := []Output{{"a", "1"}, {"b", "2"}}
	got := SetOutputs(cur, []Output{{"b", "20"}, {"c", "3"}})
	want := []Output{{"a", "1"}, {"b", "20"}, {"c", "3"}}
	if !slices.Equal(got, want) {
		t.Errorf("SetOutputs = %v, want %v", got, want)
	}
	if cur[1].Value != "2" {
		t.Error("SetOutputs changed its input")
	}
}
