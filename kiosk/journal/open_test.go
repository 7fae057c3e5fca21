package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// filledJournal writes n events of about 512 bytes of data, {"n":i,...},
// acks all but the last, closes the journal and returns its size as bbolt
// sees it.
func filledJournal(t *testing.T, path string, n int) (size int64) {
	t.Helper()
	j := mustOpen(t, path)
	pad := strings.Repeat("x", 500)
	var all []string
	for i := range n {
		data := json.RawMessage(fmt.Sprintf(`{"n":%d,"pad":%q}`, i+1, pad))
		evs := mustAppend(t, j, t0, []Record{{Type: "e", Incident: "a", Data: data}}, nil)
		all = append(all, evs[0].ID)
	}
	if _, err := j.Ack(all[:n-1]); err != nil {
		t.Fatal(err)
	}
	j.Close()
	withBolt(t, path, func(tx *bolt.Tx) error { size = tx.Size(); return nil })
	return size
}

// withBolt runs fn in a bbolt transaction on path, outside the journal.
func withBolt(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func asides(t *testing.T, path string) []string {
	t.Helper()
	m, err := filepath.Glob(path + ".broken-*")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestUnreadableFileSetAside(t *testing.T) {
	pageSize := int64(os.Getpagesize())
	// make returns the highest seq the damaged file ever used, 0 if it
	// never was a journal.
	tests := []struct {
		name string
		make func(t *testing.T, path string) uint64
	}{
		{"garbage", func(t *testing.T, path string) uint64 {
			writeFile(t, path, bytes.Repeat([]byte("not a journal\n"), 1000))
			return 0
		}},
		{"tiny garbage", func(t *testing.T, path string) uint64 { writeFile(t, path, []byte("hello")); return 0 }},
		{"other program's bbolt file", func(t *testing.T, path string) uint64 {
			withBolt(t, path, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("x")); return err })
			return 0
		}},
		{"meta without schema", func(t *testing.T, path string) uint64 {
			withBolt(t, path, func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bucketMeta); return err })
			return 0
		}},
		{"both meta pages damaged", func(t *testing.T, path string) uint64 {
			filledJournal(t, path, 10)
			damage(t, path, 0, 2*pageSize)
			return 10
		}},
		{"one meta page damaged", func(t *testing.T, path string) uint64 {
			filledJournal(t, path, 10)
			damage(t, path, pageSize, 2*pageSize)
			return 10
		}},
		{"truncated", func(t *testing.T, path string) uint64 {
			size := filledJournal(t, path, 500)
			if err := os.Truncate(path, size/2); err != nil {
				t.Fatal(err)
			}
			return 500
		}},
		{"truncated to one page", func(t *testing.T, path string) uint64 {
			filledJournal(t, path, 10)
			if err := os.Truncate(path, pageSize); err != nil {
				t.Fatal(err)
			}
			return 10
		}},
		// bbolt reads a page that is not a leaf as a branch: trusting
		// it could loop for ever.
		{"history page overwritten", func(t *testing.T, path string) uint64 {
			filledJournal(t, path, 100)
			damagePagesHolding(t, path, []byte(`"n":10,`))
			return 100
		}},
		{"branch page points to itself", func(t *testing.T, path string) uint64 {
			filledJournal(t, path, 500)
			loopBranch(t, path)
			return 500
		}},
	}
	stamp := regexp.MustCompile(`\.broken-\d{8}T\d{6}Z$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t)
			used := tt.make(t, path)
			before, _ := os.ReadFile(path)
			j := mustOpen(t, path)
			aside := j.Recovered()
			if !strings.HasPrefix(aside, path) || !stamp.MatchString(aside) {
				t.Fatalf("Recovered() = %q, want %s.broken-YYYYMMDDTHHMMSSZ", aside, path)
			}
			if kept, err := os.ReadFile(aside); err != nil || !bytes.Equal(kept, before) {
				t.Errorf("aside file: %d bytes, %v; want the %d original bytes", len(kept), err, len(before))
			}
			if used == 0 {
				checkFresh(t, j)
				return
			}
			evs := mustAppend(t, j, t0, []Record{rec("fault.journal_recovered", "")}, nil)
			if evs[0].Seq <= used || j.BootEpoch() < 2 {
				t.Errorf("after salvage: Append = seq %d, epoch %d; want seq above %d, epoch above 1", evs[0].Seq, j.BootEpoch(), used)
			}
		})
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// damage overwrites bytes [from, to) of path.
func damage(t *testing.T, path string, from, to int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xa5}, int(to-from)), from); err != nil {
		t.Fatal(err)
	}
}

// damagePagesHolding overwrites every page of path that contains marker,
// live or free.
func damagePagesHolding(t *testing.T, path string, marker []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := os.Getpagesize()
	found := 0
	for off := 0; off+page <= len(b); off += page {
		if bytes.Contains(b[off:off+page], marker) {
			damage(t, path, int64(off), int64(off+page))
			found++
		}
	}
	if found == 0 {
		t.Fatalf("no page holds %s", marker)
	}
}

// damageValuesHolding overwrites 32 bytes at every place marker appears
// in path: values inside well-formed pages go bad.
func damageValuesHolding(t *testing.T, path string, marker []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for off := 0; ; off++ {
		i := bytes.Index(b[off:], marker)
		if i < 0 {
			break
		}
		off += i
		damage(t, path, int64(off), int64(off+32))
		found++
	}
	if found == 0 {
		t.Fatalf("no value holds %s", marker)
	}
}

// loopBranch points the first child of every branch page in path, live
// or free, at the page itself.
func loopBranch(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page, found := os.Getpagesize(), 0
	for off := 2 * page; off+page <= len(b); off += page {
		if binary.NativeEndian.Uint16(b[off+8:]) == branchFlag {
			copy(b[off+pageHeader+8:], b[off:off+8])
			found++
		}
	}
	if found == 0 {
		t.Fatal("no branch page")
	}
	writeFile(t, path, b)
}

func checkFresh(t *testing.T, j *Journal) {
	t.Helper()
	evs, err := j.Append(t0, true, []Record{rec("fault.journal_recovered", "")}, nil)
	if err != nil || evs[0].Seq != 1 || j.BootEpoch() != 1 {
		t.Errorf("fresh journal: Append = %v, %v, epoch %d; want seq 1, epoch 1", seqs(evs), err, j.BootEpoch())
	}
}

func TestEmptyFileIsNew(t *testing.T) {
	path := tempPath(t)
	writeFile(t, path, nil)
	j := mustOpen(t, path)
	if got := j.Recovered(); got != "" {
		t.Errorf("Recovered() = %q for an empty file, want \"\"", got)
	}
	checkFresh(t, j)
}

// Damaged values in the history are found at Open by their checksums, not
// when a read happens to reach them: the file is salvaged, every other
// event comes back, and new events are still stored.
func TestDamagedHistoryValues(t *testing.T) {
	path := tempPath(t)
	filledJournal(t, path, 100)
	damageValuesHolding(t, path, []byte(`"n":10,`))
	j := mustOpen(t, path)
	if j.Recovered() == "" {
		t.Fatal("Recovered() = \"\", want the damaged file set aside and salvaged")
	}
	evs, err := j.Events(0, 5000)
	if err != nil || len(evs) != 99 {
		t.Errorf("Events() = %d events, %v; want the 99 undamaged", len(evs), err)
	}
	if _, err := j.IncidentEvents("a"); err != nil {
		t.Errorf("IncidentEvents() = %v", err)
	}
	evs, err = j.Append(t0, true, []Record{rec("alarm", "b")}, nil)
	if err != nil || evs[0].Seq <= 100 {
		t.Errorf("Append() = %v, %v, want a seq above 100", seqs(evs), err)
	}
	if p, err := j.Pending(0, 10); err != nil || len(p) != 2 || p[0].Seq != 100 {
		t.Errorf("Pending() = %v, %v, want seq 100 and the new one", seqs(p), err)
	}
}

func TestLockedFileIsLeftAlone(t *testing.T) {
	path := tempPath(t)
	j := mustOpen(t, path)
	mustAppend(t, j, t0, []Record{rec("a", "")}, nil)
	start := time.Now()
	j2, err := Open(path, Options{KioskID: "kiosk-1", Timeout: 200 * time.Millisecond})
	elapsed := time.Since(start)
	if err == nil {
		j2.Close()
		t.Fatal("second Open succeeded, want a lock timeout")
	}
	if !errors.Is(err, berrors.ErrTimeout) || errors.Is(err, ErrCorrupt) {
		t.Errorf("second Open: %v, want bbolt ErrTimeout", err)
	}
	if elapsed < 100*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("second Open took %v, want about the 200ms timeout", elapsed)
	}
	if got := asides(t, path); len(got) != 0 {
		t.Errorf("files set aside: %v, want none", got)
	}
	if n, err := j.LastSeq(); n != 1 || err != nil {
		t.Errorf("first journal LastSeq() = %d, %v, want 1, nil", n, err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := tempPath(t)
	j := mustOpen(t, path)
	j.Close()
	withBolt(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, putUint(schemaVersion+1))
	})
	before, _ := os.ReadFile(path)
	_, err := Open(path, Options{KioskID: "kiosk-1"})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("Open() = %v, want ErrSchemaTooNew", err)
	}
	if got := asides(t, path); len(got) != 0 {
		t.Errorf("files set aside: %v, want none", got)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Error("file changed by a refused Open")
	}
}

func TestOpenOSErrorLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(filepath.Join(dir, "missing", "journal.db"), Options{KioskID: "kiosk-1"})
	if err == nil || errors.Is(err, ErrCorrupt) {
		t.Errorf("Open in a missing directory: %v, want a plain OS error", err)
	}
	_, err = Open(dir, Options{KioskID: "kiosk-1"})
	if err == nil || errors.Is(err, ErrCorrupt) {
		t.Errorf("Open of a directory: %v, want a plain OS error", err)
	}
	if got := asides(t, dir); len(got) != 0 {
		t.Errorf("directory set aside: %v", got)
	}
}

func TestSetAsideNeverOverwrites(t *testing.T) {
	path := tempPath(t)
	now := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	var got []string
	for i := range 3 {
		writeFile(t, path, []byte{byte(i)})
		aside, err := setAside(path, now)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.TrimPrefix(aside, path))
	}
	want := []string{".broken-20250301T080000Z", ".broken-20250301T080000Z.1", ".broken-20250301T080000Z.2"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("aside names = %v, want %v", got, want)
	}
}
