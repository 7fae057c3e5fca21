package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// testReserve is the reserve of the space tests; reserveAlarms is how many
// 512-byte alarms it must hold: a generous 2 KiB each, for the event, its
// id and index entries and half-full pages, after the pages kept for acks.
const testReserve = 1 << 20

var reserveAlarms = (testReserve - ackPages*os.Getpagesize()) / 2048

// alarm is a press as the controller journals it: 512 bytes of data.
func alarm(i int) Record {
	data := fmt.Sprintf(`{"n":%d,"pad":%q}`, i, strings.Repeat("x", 490))
	return Record{Type: "incident.registered", Incident: fmt.Sprintf("inc-%d", i), Data: json.RawMessage(data)}
}

func telemetryBatch(n int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{Type: "camera.status", Telemetry: true,
			Data: json.RawMessage(`{"pad":"` + strings.Repeat("t", 400) + `"}`)}
	}
	return recs
}

// fillWithTelemetry appends telemetry until the journal refuses it.
// Batches of 50, then of 1, so that the space left is under one event.
func fillWithTelemetry(t *testing.T, j *Journal, check func()) {
	t.Helper()
	batch := 50
	for range 20_000 {
		_, err := j.Append(t0, true, telemetryBatch(batch), nil)
		check()
		switch {
		case errors.Is(err, ErrTelemetryRefused) && batch == 1:
			return
		case errors.Is(err, ErrTelemetryRefused):
			batch = 1
		case err != nil:
			t.Fatalf("Append(telemetry) = %v, want nil or ErrTelemetryRefused", err)
		}
	}
	t.Fatal("telemetry never refused")
}

// alarmsUntilFull appends alarms until ErrFull and returns their ids.
// The first reserveAlarms must succeed.
func alarmsUntilFull(t *testing.T, j *Journal, check func()) []string {
	t.Helper()
	var stored []string
	for i := range 100_000 {
		evs, err := j.Append(t0, true, []Record{alarm(i)}, nil)
		check()
		switch {
		case err == nil:
			stored = append(stored, evs[0].ID)
		case errors.Is(err, ErrFull) && i >= reserveAlarms:
			t.Logf("%d alarms stored from a %d-byte reserve, then %v", i, testReserve, err)
			return stored
		default:
			t.Fatalf("alarm %d: Append() = %v, want the first %d stored, then ErrFull", i, err, reserveAlarms)
		}
	}
	t.Fatal("never full")
	return nil
}

// checkAlarms reopens the journal at path and finds every id pending.
func checkAlarms(t *testing.T, path string, opts Options, want []string) *Journal {
	t.Helper()
	j := openWith(t, path, opts)
	pending, err := j.Pending(0, 1_000_000)
	if err != nil {
		t.Fatalf("Pending() after reopen: %v", err)
	}
	found := map[string]bool{}
	for _, e := range pending {
		found[e.ID] = true
	}
	for _, id := range want {
		if !found[id] {
			t.Fatalf("alarm %s lost after reopen", id)
		}
	}
	return j
}

func TestMaxSizeKeepsReserveForAlarms(t *testing.T) {
	t.Parallel()
	const maxSize = 8 << 20
	path := tempPath(t)
	opts := Options{MaxSize: maxSize, Reserve: testReserve, TelemetryBudget: 1 << 30}
	j := openWith(t, path, opts)
	check := func() {
		t.Helper()
		if info, err := os.Stat(path); err != nil || info.Size() > maxSize {
			t.Fatalf("file: %v, %v, want at most %d bytes", info.Size(), err, maxSize)
		}
	}
	fillWithTelemetry(t, j, check)
	evs, err := j.Append(t0, true, []Record{telemetryBatch(1)[0], alarm(-1)}, nil)
	if got := types(evs); err != nil || !slices.Equal(got, []string{"incident.registered"}) {
		t.Errorf("Append(telemetry, alarm) on reserve = %v, %v, want the alarm alone", got, err)
	}
	st := mustStats(t, j)
	if !st.OnReserve || st.MaxBytes != maxSize || st.TelemetryDropped < 52 {
		t.Errorf("Stats() = %+v, want OnReserve, MaxBytes %d, at least 52 dropped", st, maxSize)
	}
	stored := append(ids(evs), alarmsUntilFull(t, j, check)...)
	checkWriteFull(t, j)
	check()
	if err := j.Touch(t0); err != nil && !errors.Is(err, ErrFull) {
		t.Errorf("Touch() when full = %v, want nil or ErrFull", err)
	}
	j.Close()
	j = checkAlarms(t, path, opts, stored)
	check()
	// Once the platform acks the telemetry, its space serves again.
	drainTelemetry(t, j)
	if _, err := j.Append(t0, true, telemetryBatch(1), nil); err != nil {
		t.Errorf("Append(telemetry) after the drain = %v, want nil", err)
	}
	if st := mustStats(t, j); st.OnReserve || st.PendingTelemetry != 1 {
		t.Errorf("Stats() after the drain = %+v, want off reserve, 1 telemetry", st)
	}
	j.Close()
	checkBolt(t, path)
}

// checkWriteFull makes a write far larger than the space left: bbolt's
// own ENOSPC or size-cap error must come back as ErrFull, and the file
// must stay sound.
func checkWriteFull(t *testing.T, j *Journal) {
	t.Helper()
	err := j.update("test", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte("big"), make([]byte, 16<<20))
	})
	if !errors.Is(err, ErrFull) {
		t.Errorf("16 MiB write when full = %v, want ErrFull", err)
	}
}

// drainTelemetry acks every pending telemetry event, as the platform would.
func drainTelemetry(t *testing.T, j *Journal) {
	t.Helper()
	var after uint64
	for {
		page, err := j.Pending(after, 256)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return
		}
		var tel []string
		for _, e := range page {
			if e.Telemetry {
				tel = append(tel, e.ID)
			}
		}
		if _, err := j.Ack(tel); err != nil {
			t.Fatalf("Ack(telemetry) = %v", err)
		}
		after = page[len(page)-1].Seq
	}
}

// checkBolt runs bbolt's own consistency check on the closed file.
func checkBolt(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 1e9, ReadOnly: true})
	if err != nil {
		t.Fatalf("bbolt open: %v", err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	if err != nil {
		t.Errorf("bbolt check: %v", err)
	}
}

// smallFS mounts a filesystem of size bytes of the given kind and returns
// its directory, or skips the test if this machine does not allow it.
func smallFS(t *testing.T, kind string, size int64) string {
	t.Helper()
	dir := t.TempDir()
	var cmds [][]string
	switch kind {
	case "tmpfs":
		cmds = [][]string{{"mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir}}
	case "ext4":
		img := filepath.Join(t.TempDir(), "fs.img")
		cmds = [][]string{{"truncate", "-s", fmt.Sprint(size), img},
			{"mkfs.ext4", "-q", "-F", img}, {"mount", "-o", "loop", img, dir}}
	}
	for _, c := range cmds {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Skipf("cannot make a small %s here: %s: %v: %s", kind, c[0], err, out)
		}
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes a file in dir until the filesystem is full, and returns
// its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{64 << 10, 4 << 10, 512, 1} {
		buf := make([]byte, chunk)
		for range (64 << 20) / chunk {
			if _, err := f.Write(buf); err != nil {
				break
			}
		}
	}
	_ = f.Sync() // a delayed allocation failing here still leaves the disk full
	return path
}

func TestDiskFullKeepsReserveForAlarms(t *testing.T) {
	t.Parallel()
	mounted := 0
	for _, kind := range []string{"tmpfs", "ext4"} {
		t.Run(kind, func(t *testing.T) {
			dir := smallFS(t, kind, 16<<20)
			mounted++
			diskFull(t, dir)
		})
	}
	if mounted == 0 && os.Getenv("CI") != "" {
		t.Fatal("no small filesystem could be mounted; CI must run this test")
	}
}

func diskFull(t *testing.T, dir string) {
	path := filepath.Join(dir, "journal.db")
	opts := Options{Reserve: testReserve}
	j := openWith(t, path, opts)
	history := mustAppend(t, j, t0, append(telemetryBatch(100), alarm(-1)), nil)
	filler := fillDisk(t, dir)
	st := mustStats(t, j)
	if !st.OnReserve || st.DiskFreeBytes >= testReserve {
		t.Errorf("Stats() on a full disk = %+v, want OnReserve, under %d free", st, testReserve)
	}
	if _, err := j.Append(t0, true, telemetryBatch(1), nil); !errors.Is(err, ErrTelemetryRefused) {
		t.Errorf("Append(telemetry) on a full disk = %v, want ErrTelemetryRefused", err)
	}
	stored := append(ids(history[100:]), alarmsUntilFull(t, j, func() {})...)
	checkWriteFull(t, j)
	j.Close()
	j = checkAlarms(t, path, opts, stored)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := j.Touch(t0); err != nil {
		t.Errorf("Touch() with room again = %v, want nil", err)
	}
	if st := mustStats(t, j); st.OnReserve {
		t.Errorf("Stats() with room again = %+v, want off reserve", st)
	}
	mustAppend(t, j, t0, []Record{alarm(0), telemetryBatch(1)[0]}, nil)
	j.Close()
	checkBolt(t, path)
}
