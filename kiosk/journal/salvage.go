package journal

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Journal salvage.
//
// When Open finds the file damaged (ErrCorrupt: bbolt cannot open it, a
// meta page is damaged, its structure is unsafe, or a stored value fails
// its checksum), it does not start empty. It reads every event it can
// from the damaged file, first through bbolt's own reads where the file's
// structure is safe to walk (see checkFile), then by a raw scan of the
// file's bytes for sealed records (see record.go), which finds events
// and snapshots in pages bbolt can no longer reach. It builds a new
// journal beside it (path+".salvage") holding:
//
//   - every recovered event with its original id, kiosk, boot epoch, seq,
//     time, class and data;
//   - in the outbox, every event that was unacked, and every event whose
//     ack state could not be read (the outbox bucket was not read whole,
//     or the event is newer than what bbolt could read): the platform
//     dedupes by id, so a re-send is harmless, a loss is not;
//   - every incident's newest snapshot (the highest stamp; bbolt's live
//     copy for legacy snapshots), open ones open again, with the
//     deadlines they carry inside their data;
//   - the clip index and the meta keys (command counter, clock floor,
//     counters) where bbolt could read them;
//   - a boot epoch and seq above everything ever used: the highest of
//     what was read and of the high-water mark (see hwm.go).
//
// Then the damaged file is renamed aside (never deleted) and the new one
// renamed into place; a crash between the two renames is finished by the
// next Open (adoptSalvage). The new file is the truth from then on: a
// restart before anyone looks keeps everything. What was done is
// reported by Salvaged and Recovered until the first Append after it
// (normally the kiosk's own start event, which records it).
//
// If the new file cannot be built (no space for it), the damaged file is
// still set aside and an empty journal starts above the high-water mark,
// as with a missing file.

// Salvage reports a journal rebuilt at Open. The zero value means Open
// found nothing wrong.
type Salvage struct {
	Aside         string `json:"aside"`          // where the damaged file was moved; "" if it was missing
	Reason        string `json:"reason"`         // why Open could not use it
	Events        int    `json:"events"`         // events recovered with their ids
	Requeued      int    `json:"requeued"`       // of those, put back in the outbox
	OpenIncidents int    `json:"open_incidents"` // open incidents recovered
	Clips         int    `json:"clips"`          // clip index entries recovered
	SeqFrom       uint64 `json:"seq_from"`       // the first seq new events get
	BootEpoch     uint64 `json:"boot_epoch"`     // the boot epoch this Open started
}

// Salvaged reports what Open recovered from a damaged or missing file; the
// zero value if it found nothing wrong. The report is kept in the file
// until the first Append after the salvage, so that an Open after a crash
// before that Append reports it again.
func (j *Journal) Salvaged() Salvage { return j.salvaged }

// keySalvage holds a Salvage (JSON) not yet followed by an Append.
var keySalvage = []byte("salvage_report")

// maxAsides bounds the damaged files kept beside the journal; see
// boundAsides.
const maxAsides = 4

// readSalvageReport returns the pending report in meta, if any.
func readSalvageReport(meta *bolt.Bucket) Salvage {
	var s Salvage
	if v := meta.Get(keySalvage); v != nil {
		_ = json.Unmarshal(v, &s) // a damaged report is only a lost message
	}
	return s
}

func putSalvageReport(meta *bolt.Bucket, s Salvage) error {
	v, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return meta.Put(keySalvage, v)
}

// clearSalvageReport drops the pending report: an Append has followed.
func clearSalvageReport(meta *bolt.Bucket) error {
	if meta.Get(keySalvage) == nil {
		return nil
	}
	return meta.Delete(keySalvage)
}

// salvageAndOpen rebuilds the damaged journal at path and opens the
// result; cause is why it was found damaged.
func salvageAndOpen(path string, opts Options, cause error) (*Journal, error) {
	start := time.Now()
	f := gather(path, opts)
	aside, err := asideName(path, start)
	if err != nil {
		return nil, err
	}
	// The mark first: whatever happens next, seq and epoch continue above.
	if err := (&hwmFile{path: hwmPath(path), cur: f.mark}).write(f.nextMark()); err != nil {
		slog.Error("journal: salvage: cannot write the high-water mark", "err", err)
	}
	report := Salvage{Aside: aside, Reason: cause.Error(), SeqFrom: f.seqFrom()}
	built, buildErr := build(path+".salvage", opts, f, &report)
	if err := moveAside(path, aside); err != nil {
		return nil, err
	}
	if built {
		if err := replace(path+".salvage", path); err != nil {
			return nil, err
		}
	}
	j, err := openFile(path, opts)
	if errors.Is(err, ErrCorrupt) && built {
		// The rebuilt file itself fails: keep it too, start empty.
		buildErr = err
		if err := moveAside(path, path+".salvage-failed"); err != nil {
			return nil, err
		}
		built = false
		j, err = openFile(path, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("journal: open after salvage of %s: %w", aside, err)
	}
	if !built {
		// Handled: the journal starts empty above the mark; the report says why.
		slog.Error("journal: salvage: cannot build the new journal; started empty above the high-water mark", "err", buildErr)
		report.Reason = fmt.Sprintf("%s; nothing could be rebuilt (%v)", report.Reason, buildErr)
		j.notePoorSalvage(report)
	}
	boundAsides(path, aside)
	slog.Warn("journal: damaged file rebuilt", "aside", aside, "reason", cause,
		"events", j.salvaged.Events, "requeued", j.salvaged.Requeued,
		"open_incidents", j.salvaged.OpenIncidents, "seq_from", j.salvaged.SeqFrom,
		"boot_epoch", j.epoch, "took", time.Since(start).Round(time.Millisecond))
	return j, nil
}

// notePoorSalvage records the report of a salvage that recovered nothing
// in the empty journal Open started instead.
func (j *Journal) notePoorSalvage(s Salvage) {
	s.Events, s.Requeued, s.OpenIncidents, s.Clips = 0, 0, 0, 0
	s.BootEpoch = j.epoch
	if last, err := j.LastSeq(); err == nil {
		s.SeqFrom = last + 1
	}
	j.salvaged, j.recovered = s, s.Aside
	err := j.update("salvage report", func(tx *bolt.Tx) error {
		return putSalvageReport(tx.Bucket(bucketMeta), s)
	})
	if err != nil {
		slog.Error("journal: cannot record the salvage report", "err", err)
	}
}

// adoptSalvage finishes a salvage cut between its two renames: the
// damaged file is aside, the new one complete but not yet in place.
func adoptSalvage(path string) error {
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, err := os.Lstat(path + ".salvage"); err != nil {
		return nil
	}
	return replace(path+".salvage", path)
}

// asideName returns a free name for the damaged file: the time, then for
// a second file in the same second a number above every one taken in that
// second. A number freed by boundAsides is never reused, so that the
// order of the names (asideOrder) is the order the files were set aside.
func asideName(path string, now time.Time) (string, error) {
	base := path + ".broken-" + now.UTC().Format("20060102T150405Z")
	taken, err := filepath.Glob(base + "*")
	if err != nil {
		return "", fmt.Errorf("journal: set aside %s: %w", path, err)
	}
	next := 0
	for _, name := range taken {
		if _, n, ok := asideOrder(path, name); ok && strings.HasPrefix(name, base) {
			next = max(next, n+1)
		}
	}
	switch {
	case next == 0:
		return base, nil
	case next < 100:
		return fmt.Sprintf("%s.%d", base, next), nil
	}
	return "", fmt.Errorf("journal: set aside %s: no free name like %s", path, base)
}

// olderAside orders the asides of path from the oldest set aside.
func olderAside(path string) func(a, b string) int {
	return func(a, b string) int {
		sa, na, _ := asideOrder(path, a)
		sb, nb, _ := asideOrder(path, b)
		return cmp.Or(strings.Compare(sa, sb), cmp.Compare(na, nb))
	}
}

// asideOrder splits an aside's name into its time and its number in that
// second (0 for none); ok is false for a name asideName does not make.
func asideOrder(path, name string) (stamp string, n int, ok bool) {
	rest, found := strings.CutPrefix(name, path+".broken-")
	if !found || len(rest) < len("20060102T150405Z") {
		return "", 0, false
	}
	stamp, num := rest[:len("20060102T150405Z")], rest[len("20060102T150405Z"):]
	if num == "" {
		return stamp, 0, true
	}
	n, err := strconv.Atoi(strings.TrimPrefix(num, "."))
	return stamp, n, err == nil && strings.HasPrefix(num, ".") && n > 0
}

// moveAside renames path to aside, durably.
func moveAside(path, aside string) error {
	if err := os.Rename(path, aside); err != nil {
		return fmt.Errorf("journal: set aside %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("journal: set aside %s: %w", path, err)
	}
	return nil
}

// replace renames from to path, durably.
func replace(from, path string) error {
	if err := os.Rename(from, path); err != nil {
		return fmt.Errorf("journal: put salvaged journal in place: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("journal: put salvaged journal in place: %w", err)
	}
	return nil
}

// boundAsides keeps the maxAsides newest damaged files and deletes older
// ones. Every event readable in an older one lives on in the journal it
// was salvaged into, and onwards; keeping them all would let a failing
// disk that damages the journal at every start fill itself with copies.
// The file just set aside is never deleted.
func boundAsides(path, keep string) {
	all, err := filepath.Glob(path + ".broken-*")
	if err != nil || len(all) <= maxAsides {
		return
	}
	slices.SortFunc(all, olderAside(path))
	for _, old := range all[:len(all)-maxAsides] {
		if old == keep {
			continue
		}
		if err := os.Remove(old); err == nil {
			slog.Warn("journal: deleted an old damaged journal; its events live on in the salvaged ones", "path", old)
		}
	}
}
