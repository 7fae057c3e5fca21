package journal

import (
	"errors"
	"sync"
	"testing"
)

func TestCommandCounterAdvancesAndSurvivesRestart(t *testing.T) {
	path := tempPath(t)
	j := mustOpen(t, path)
	if got, err := j.CommandCounter(); err != nil || got != 0 {
		t.Fatalf("fresh CommandCounter = %d, %v; want 0", got, err)
	}
	steps := []struct {
		n    uint64
		want error
	}{
		{5, nil},
		{5, ErrStaleCounter}, // the same again: a replay
		{4, ErrStaleCounter}, // older
		{6, nil},
	}
	for _, s := range steps {
		if err := j.AdvanceCommandCounter(s.n); !errors.Is(err, s.want) {
			t.Errorf("AdvanceCommandCounter(%d) = %v, want %v", s.n, err, s.want)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = mustOpen(t, path)
	if got, err := j.CommandCounter(); err != nil || got != 6 {
		t.Errorf("after restart CommandCounter = %d, %v; want 6", got, err)
	}
	if err := j.AdvanceCommandCounter(6); !errors.Is(err, ErrStaleCounter) {
		t.Errorf("after restart AdvanceCommandCounter(6) = %v, want ErrStaleCounter", err)
	}
}

// Many callers racing with the same counter: exactly one wins.
func TestCommandCounterOneWinner(t *testing.T) {
	j := mustOpen(t, tempPath(t))
	const callers = 8
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() { errs <- j.AdvanceCommandCounter(100) })
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrStaleCounter):
			t.Errorf("AdvanceCommandCounter: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d callers accepted counter 100, want 1", won)
	}
}

func TestCommandCounterAfterClose(t *testing.T) {
	j := mustOpen(t, tempPath(t))
	_ = j.Close()
	if err := j.AdvanceCommandCounter(1); !errors.Is(err, ErrClosed) {
		t.Errorf("AdvanceCommandCounter after Close = %v, want ErrClosed", err)
	}
}

// BenchmarkAdvanceCommandCounter: the fsynced write every accepted command
// costs before it is acted on.
func BenchmarkAdvanceCommandCounter(b *testing.B) {
	j := mustOpen(b, tempPath(b))
	n := uint64(0)
	for b.Loop() {
		n++
		if err := j.AdvanceCommandCounter(n); err != nil {
			b.Fatal(err)
		}
	}
}
