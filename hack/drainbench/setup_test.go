package drainbench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kioskout "kioskd/firmware/outbox"
	"kioskd/kiosk/journal"
)

const (
	kioskID     = "bench-kiosk"
	backlog     = 100_000
	backlogType = "bench.backlog"
	alarmType   = "bench.alarm"
	drainLimit  = 5 * time.Minute // a drain that takes longer fails the benchmark
)

// pad makes each event carry 512 bytes of data, as the journal's benchmarks do.
var pad = json.RawMessage(`{"pad":"` + strings.Repeat("x", 502) + `"}`)

var (
	workDir      string // removed by TestMain
	templateOnce sync.Once
	templatePath string
	templateErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "drainbench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// openBacklog opens a fresh copy of a journal holding backlog pending events.
// The journal is built once per run, 1,000 events per transaction.
func openBacklog(b *testing.B) *journal.Journal {
	b.Helper()
	templateOnce.Do(func() { templatePath, templateErr = buildTemplate() })
	if templateErr != nil {
		b.Fatal(templateErr)
	}
	path := filepath.Join(b.TempDir(), "journal.db")
	if err := copyFile(templatePath, path); err != nil {
		b.Fatal(err)
	}
	j, err := journal.Open(path, journal.Options{KioskID: kioskID})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { j.Close() })
	return j
}

func buildTemplate() (string, error) {
	path := filepath.Join(workDir, "template.db")
	j, err := journal.Open(path, journal.Options{KioskID: kioskID})
	if err != nil {
		return "", err
	}
	defer j.Close()
	recs := make([]journal.Record, 1000)
	for i := range recs {
		recs[i] = journal.Record{Type: backlogType, Incident: "inc-backlog", Data: pad}
	}
	for range backlog / len(recs) {
		if _, err := j.Append(time.Now(), true, recs, nil); err != nil {
			return "", fmt.Errorf("build backlog: %w", err)
		}
	}
	return path, nil
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// outbox is the journal as the link sees it, kioskd's own (firmware/outbox),
// counting the backlog events acked.
type outbox struct {
	*kioskout.Outbox
	j       *journal.Journal
	acked   atomic.Int64 // backlog events acked
	drained chan struct{}
	once    sync.Once
}

func newOutbox(j *journal.Journal) *outbox {
	return &outbox{Outbox: kioskout.New(j, nil, nil), j: j, drained: make(chan struct{})}
}

func (o *outbox) Ack(ids []string) error {
	acked, err := o.AckEvents(ids)
	if err != nil {
		return err
	}
	var n int64
	for _, ev := range acked {
		if ev.Type == backlogType {
			n++
		}
	}
	if o.acked.Add(n) >= backlog {
		o.once.Do(func() { close(o.drained) })
	}
	return nil
}

// appendAlarm journals one urgent alarm and returns its id.
func (o *outbox) appendAlarm() (string, error) {
	rec := journal.Record{Type: alarmType, Incident: "inc-alarm", Data: pad, Urgent: true}
	evs, err := o.j.Append(time.Now(), true, []journal.Record{rec}, nil)
	if err != nil {
		return "", err
	}
	return evs[0].ID, nil
}
