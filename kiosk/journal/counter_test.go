package journal

import (
	"errors"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func mustAdmit(t *testing.T, j *Journal, counter uint64, id string) {
	t.Helper()
	if _, err := j.AdmitCommand(counter, id); err != nil {
		t.Fatalf("AdmitCommand(%d, %q) = %v, want nil", counter, id, err)
	}
}

// TestCommandWindow: fresh above the highest, fresh within the window when
// unseen, seen within it, stale at or below the floor.
func TestCommandWindow(t *testing.T) {
	j := mustOpen(t, tempPath(t))
	if got, err := j.CommandCounter(); err != nil || got != 0 {
		t.Fatalf("fresh CommandCounter = %d, %v; want 0", got, err)
	}
	mustAdmit(t, j, 1000, "c-1000")
	steps := []struct {
		counter uint64
		id      string
		want    error
	}{
		{2000, "c-2000", nil},            // above the highest
		{1500, "c-1500", nil},            // overtaken by 2000, never seen: in the window
		{1500, "c-1500", ErrSeenCounter}, // the same again
		{2000, "c-2000", ErrSeenCounter},
		{1000, "other", ErrSeenCounter}, // a reused counter, whatever the id
		{999, "c-999", nil},             // below every held counter, above the floor (0)
	}
	for _, s := range steps {
		if _, err := j.AdmitCommand(s.counter, s.id); !errors.Is(err, s.want) {
			t.Errorf("AdmitCommand(%d) = %v, want %v", s.counter, err, s.want)
		}
	}
	if got, _ := j.CommandCounter(); got != 2000 {
		t.Errorf("CommandCounter = %d, want 2000 (the highest)", got)
	}
	// Fill the window with newer commands: the old ones leave it.
	for n := uint64(3000); n < 3000+CommandWindow; n++ {
		mustAdmit(t, j, n, "fill")
	}
	floor, held, err := j.CommandWindowState()
	if err != nil || len(held) != CommandWindow || floor != 2000 {
		t.Fatalf("window: floor %d, %d held, %v; want floor 2000, %d held", floor, len(held), err, CommandWindow)
	}
	for _, c := range []uint64{999, 1500, 1999, 2000} { // seen or not, at or below the floor
		if _, err := j.AdmitCommand(c, "late"); !errors.Is(err, ErrStaleCounter) {
			t.Errorf("AdmitCommand(%d) after the window moved on = %v, want ErrStaleCounter", c, err)
		}
	}
	mustAdmit(t, j, 2001, "late but above the floor")
}

func TestCommandWindowSurvivesRestart(t *testing.T) {
	path := tempPath(t)
	j := mustOpen(t, path)
	mustAdmit(t, j, 10, "c-10")
	mustAdmit(t, j, 30, "c-30")
	if err := j.RecordCommandReply(30, "c-30", []byte(`{"ok":true}`)); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = mustOpen(t, path)
	seen, err := j.AdmitCommand(30, "c-30")
	if !errors.Is(err, ErrSeenCounter) || !seen.SameID("c-30") || string(seen.Reply) != `{"ok":true}` {
		t.Errorf("after restart AdmitCommand(30) = %+v, %v; want ErrSeenCounter with id c-30 and its reply", seen, err)
	}
	if _, err := j.AdmitCommand(10, "c-10"); !errors.Is(err, ErrSeenCounter) {
		t.Errorf("after restart AdmitCommand(10) = %v, want ErrSeenCounter", err)
	}
	mustAdmit(t, j, 20, "c-20") // unseen, in the window
}

// Many callers racing with the same counter: exactly one wins; the others
// see it taken. Distinct counters racing are all accepted.
func TestCommandWindowConcurrentAdmission(t *testing.T) {
	j := mustOpen(t, tempPath(t))
	const callers = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*callers)
	for i := range callers {
		wg.Go(func() {
			_, err := j.AdmitCommand(100, "same")
			errs <- err
		})
		wg.Go(func() {
			_, err := j.AdmitCommand(200+uint64(i), "distinct")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrSeenCounter):
			t.Errorf("AdmitCommand: %v", err)
		}
	}
	if want := 1 + callers; won != want {
		t.Errorf("%d admissions won, want %d (one for counter 100, one per distinct counter)", won, want)
	}
}

func TestCommandReplyRemembered(t *testing.T) {
	j := mustOpen(t, tempPath(t))
	mustAdmit(t, j, 5, "c-5")
	seen, err := j.AdmitCommand(5, "c-5")
	if !errors.Is(err, ErrSeenCounter) || seen.Reply != nil {
		t.Errorf("before its reply: %+v, %v; want seen with no reply", seen, err)
	}
	_ = j.RecordCommandReply(5, "someone-else", []byte(`"wrong"`)) // not its command: ignored
	_ = j.RecordCommandReply(5, "c-5", []byte(`"first"`))
	_ = j.RecordCommandReply(5, "c-5", []byte(`"second"`)) // the first reply stands
	_ = j.RecordCommandReply(6, "c-6", []byte(`"never admitted"`))
	big := `"` + strings.Repeat("x", maxWindowRecord) + `"`
	mustAdmit(t, j, 7, "c-7")
	_ = j.RecordCommandReply(7, "c-7", []byte(big)) // too large to keep
	long := strings.Repeat("i", maxIDLen+1)
	mustAdmit(t, j, 8, long)
	_ = j.RecordCommandReply(8, long, []byte(`"long id"`))
	_, held, err := j.CommandWindowState()
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]string{5: `"first"`, 7: "", 8: `"long id"`}
	if len(held) != len(want) {
		t.Fatalf("window holds %+v, want counters 5, 7, 8", held)
	}
	for _, h := range held {
		if string(h.Reply) != want[h.Counter] {
			t.Errorf("counter %d reply %s, want %s", h.Counter, h.Reply, want[h.Counter])
		}
	}
	if !held[2].SameID(long) || held[2].SameID(long+"x") || len(held[2].ID) > maxIDLen {
		t.Errorf("a long id is kept as %q: SameID must match it and only it", held[2].ID)
	}
}

// A file whose counter an older kioskd advanced (it keeps no window): every
// counter up to it is spent, the ones above fresh; and the highest counter
// stays where an older kioskd reads it.
func TestCommandWindowAfterOlderProgram(t *testing.T) {
	path := tempPath(t)
	j := mustOpen(t, path)
	mustAdmit(t, j, 10, "c-10")
	mustAdmit(t, j, 5, "c-5")
	j.Close()
	withBolt(t, path, func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if got := getUint(meta.Get(keyCommandCounter)); got != 10 {
			t.Errorf("command_counter = %d, want 10: an older kioskd must read the highest there", got)
		}
		return meta.Put(keyCommandCounter, putUint(50)) // the older kioskd accepted 50
	})
	j = mustOpen(t, path)
	for _, c := range []uint64{7, 10, 50} {
		if _, err := j.AdmitCommand(c, "replay"); !errors.Is(err, ErrStaleCounter) {
			t.Errorf("AdmitCommand(%d) = %v, want ErrStaleCounter", c, err)
		}
	}
	mustAdmit(t, j, 51, "c-51")
	mustAdmit(t, j, 60, "c-60")
	mustAdmit(t, j, 55, "c-55")
}

func TestCommandWindowAfterClose(t *testing.T) {
	j := mustOpen(t, tempPath(t))
	_ = j.Close()
	if _, err := j.AdmitCommand(1, "c"); !errors.Is(err, ErrClosed) {
		t.Errorf("AdmitCommand after Close = %v, want ErrClosed", err)
	}
}

// BenchmarkAdmitCommand: the fsynced write every accepted command costs
// before it is acted on, with a full window.
func BenchmarkAdmitCommand(b *testing.B) {
	j := mustOpen(b, tempPath(b))
	n := uint64(0)
	for b.Loop() {
		n++
		if _, err := j.AdmitCommand(n, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
