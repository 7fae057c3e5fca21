package journal

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Open opens or creates the journal at path and starts a new boot epoch.
//
// A file that exists but cannot be used as a journal (corrupt, truncated,
// a damaged meta page, a stored value failing its checksum, not a bbolt
// file, another program's bbolt file) is salvaged: every event, snapshot
// and clip entry still readable in it is copied into a new journal, which
// takes its place; the damaged file is renamed to
// path+".broken-"+<UTC time YYYYMMDDTHHMMSSZ> and kept (the newest
// maxAsides of them are), and Recovered and Salvaged say so; see
// salvage.go. A missing file
// whose high-water mark remains (see hwm.go) starts empty but above every
// seq and epoch used, and Salvaged says so. A file locked by another
// process (bbolt's ErrTimeout), an OS error, or ErrSchemaTooNew returns
// an error and leaves the file alone.
func Open(path string, opts Options) (*Journal, error) {
	opts, err := withDefaults(opts)
	if err != nil {
		return nil, fmt.Errorf("journal: open %s: %w", path, err)
	}
	if err := adoptSalvage(path); err != nil {
		return nil, err
	}
	j, err := openFile(path, opts)
	if !errors.Is(err, ErrCorrupt) {
		return j, err
	}
	// Handled here: the file is salvaged, kept aside, and Salvaged says so.
	slog.Warn("journal: damaged file; salvaging", "path", path, "err", err)
	return salvageAndOpen(path, opts, err)
}

// withDefaults checks opts and fills in the defaults.
func withDefaults(opts Options) (Options, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.TelemetryBudget == 0 {
		opts.TelemetryBudget = DefaultTelemetryBudget
	}
	if opts.Reserve == 0 {
		opts.Reserve = DefaultReserve
	}
	switch {
	case opts.KioskID == "":
		return opts, fmt.Errorf("%w: no kiosk id", ErrInvalid)
	case opts.TelemetryBudget < 0 || opts.Reserve < 0 || opts.MaxSize < 0:
		return opts, fmt.Errorf("%w: negative budget, reserve or size cap", ErrInvalid)
	case opts.Reserve > 1<<30:
		return opts, fmt.Errorf("%w: reserve %d over 1 GiB", ErrInvalid, opts.Reserve)
	case opts.MaxSize > 0 && opts.MaxSize < 2*opts.Reserve+2*allocSize:
		return opts, fmt.Errorf("%w: size cap %d under 2×reserve + 2 MiB", ErrInvalid, opts.MaxSize)
	case int64(int(opts.MaxSize)) != opts.MaxSize:
		return opts, fmt.Errorf("%w: size cap %d too large for this machine", ErrInvalid, opts.MaxSize)
	}
	return opts, nil
}

// openFile opens path once. Damage is reported as ErrCorrupt, including
// bbolt's panics and memory faults on pages past a truncated end, which
// SetPanicOnFault turns into panics for this goroutine.
func openFile(path string, opts Options) (j *Journal, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, fs.ErrNotExist)
	var db *bolt.DB
	var file *os.File // bbolt's descriptor, known even if bolt.Open panics
	defer func() {
		if r := recover(); r != nil {
			closeAll(db, file)
			j, err = nil, fmt.Errorf("journal: open %s: %w: %v", path, ErrCorrupt, r)
		}
	}()
	if db, err = openBolt(path, opts, &file); err != nil {
		return nil, err
	}
	j = &Journal{db: db, file: file, dir: filepath.Dir(path), page: int64(db.Info().PageSize),
		opts: opts, kiosk: opts.KioskID}
	if err := j.start(path); err != nil {
		closeAll(db, file)
		return nil, err
	}
	j.keepReserve()
	if created {
		if err := syncDir(filepath.Dir(path)); err != nil {
			closeQuietly(db)
			return nil, fmt.Errorf("journal: open %s: %w", path, err)
		}
	}
	return j, nil
}

// openBolt checks the file's structure, then opens it with bbolt, keeping
// bbolt's descriptor in *file for fallocate.
func openBolt(path string, opts Options, file **os.File) (*bolt.DB, error) {
	if err := precheck(path, opts.Timeout); errors.Is(err, ErrCorrupt) {
		return nil, fmt.Errorf("journal: open %s: %w", path, err)
	} else if errors.Is(err, berrors.ErrTimeout) {
		return nil, classify(path, err)
	} else if metaDamaged(path) {
		return nil, fmt.Errorf("journal: open %s: %w: a meta page is damaged", path, ErrCorrupt)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: opts.Timeout,
		MaxSize: int(opts.MaxSize),
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			*file = f
			return f, err
		},
	})
	if err != nil {
		return nil, classify(path, err)
	}
	db.AllocSize = allocSize
	return db, nil
}

// classify sorts bolt.Open's errors: lock timeouts and OS errors leave the
// file alone; everything else means the file is not a readable bbolt file.
func classify(path string, err error) error {
	var pathErr *fs.PathError
	var errno syscall.Errno
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("journal: open %s: file locked by another process: %w", path, err)
	case errors.As(err, &pathErr), errors.As(err, &errno):
		return fmt.Errorf("journal: open %s: %w", path, err)
	default:
		return fmt.Errorf("journal: open %s: %w: %w", path, ErrCorrupt, err)
	}
}

func closeQuietly(db *bolt.DB) {
	if db == nil {
		return
	}
	defer func() { _ = recover() }()
	_ = db.Close()
}

// closeAll closes db and bbolt's descriptor file: a bolt.Open that
// panicked, or a Close that panics on a damaged file, would otherwise
// leave the descriptor, and the file lock it holds, until GC, and the
// salvage would wait out the lock timeout.
func closeAll(db *bolt.DB, file *os.File) {
	closeQuietly(db)
	if file != nil {
		_ = file.Close() // an error here means bbolt closed it already
	}
}

// start checks the file, creates the buckets and begins a boot epoch
// above both the file's and the high-water mark's.
func (j *Journal) start(path string) error {
	if err := checkSize(j.db, path); err != nil {
		return err
	}
	m, hasMark := readMark(hwmPath(path))
	j.hwm = &hwmFile{path: hwmPath(path), cur: m}
	err := j.db.Update(func(tx *bolt.Tx) error {
		fresh, err := prepare(tx)
		if err != nil {
			return err
		}
		if err := reconcile(tx); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		if fresh && hasMark {
			if err := continueAbove(tx, m); err != nil {
				return err
			}
		}
		j.epoch = max(getUint(meta.Get(keyEpoch)), m.Epoch) + 1
		if v := meta.Get(keyFloor); v != nil {
			if err := j.floor.UnmarshalBinary(v); err != nil {
				return fmt.Errorf("clock floor: %w: %w", ErrCorrupt, err)
			}
		}
		if err := meta.Put(keyEpoch, putUint(j.epoch)); err != nil {
			return err
		}
		if err := j.noteSalvage(meta); err != nil {
			return err
		}
		j.markEpoch(m, tx.Bucket(bucketEvents).Sequence())
		return nil
	})
	if err != nil {
		return fmt.Errorf("journal: open %s: %w", path, err)
	}
	return nil
}

// markEpoch writes the mark for this boot, reserving a block of seqs
// above last. It is written before the epoch commits, so that the mark is
// never below the journal.
func (j *Journal) markEpoch(old mark, last uint64) {
	if err := j.hwm.write(mark{Epoch: j.epoch, Reserved: max(old.Reserved, last+seqBlock)}); err != nil {
		// Handled: the journal itself is sound; only a later salvage
		// would lack the mark.
		slog.Error("journal: cannot write the high-water mark", "err", err)
	}
}

// continueAbove starts a new, empty file above the mark left by a journal
// that is gone: its seqs and epochs are never used again.
func continueAbove(tx *bolt.Tx, m mark) error {
	if err := tx.Bucket(bucketEvents).SetSequence(m.Reserved); err != nil {
		return err
	}
	return putSalvageReport(tx.Bucket(bucketMeta), Salvage{
		Reason:  "journal file missing or empty; its high-water mark remains",
		SeqFrom: m.Reserved + 1,
	})
}

// noteSalvage loads a salvage report not yet followed by an Append,
// completing it with this boot's epoch.
func (j *Journal) noteSalvage(meta *bolt.Bucket) error {
	s := readSalvageReport(meta)
	if s.Reason == "" {
		return nil
	}
	s.BootEpoch = j.epoch
	j.salvaged, j.recovered = s, s.Aside
	return putSalvageReport(meta, s)
}

// checkSize catches a truncated file: pages the tree may point to lie past
// the end, and reading them would fault.
func checkSize(db *bolt.DB, path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("journal: open %s: %w", path, err)
	}
	return db.View(func(tx *bolt.Tx) error {
		if tx.Size() > info.Size() {
			return fmt.Errorf("journal: open %s: %w: truncated to %d of %d bytes",
				path, ErrCorrupt, info.Size(), tx.Size())
		}
		return nil
	})
}

// prepare creates the buckets of a new file, reporting fresh, and checks
// the schema of an existing one.
func prepare(tx *bolt.Tx) (fresh bool, err error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if k, _ := tx.Cursor().First(); k != nil {
			return false, fmt.Errorf("%w: bbolt file without journal meta", ErrCorrupt)
		}
		for _, name := range slices.Concat(allBuckets, addedBuckets) {
			if _, err := tx.CreateBucket(name); err != nil {
				return false, fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		if err := tx.Bucket(bucketMeta).Put(keySchema, putUint(schemaVersion)); err != nil {
			return false, err
		}
		return true, noteFormat(tx.Bucket(bucketMeta))
	}
	switch v := getUint(meta.Get(keySchema)); {
	case v == 0:
		return false, fmt.Errorf("%w: no schema version", ErrCorrupt)
	case v > schemaVersion:
		return false, fmt.Errorf("%w: file has %d, this program knows %d", ErrSchemaTooNew, v, schemaVersion)
	}
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return false, fmt.Errorf("%w: bucket %s missing", ErrCorrupt, name)
		}
	}
	for _, name := range addedBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return false, fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return false, noteFormat(meta) // see format.go
}

// reconcile reads what the daemon needs straight after start: every
// pending event, every open incident and the last event, and makes the
// class indexes and the counters agree with the outbox (an older program
// may have written since, ignoring them). Its cost grows with the
// backlog, not with the history.
func reconcile(tx *bolt.Tx) error {
	b := bucketsOf(tx)
	c := counters{dropped: getUint(b.meta.Get(keyDropped))}
	cur := b.outbox.Cursor()
	for k, _ := cur.First(); k != nil; k, _ = cur.Next() {
		ev, err := decodeEvent(b.events, k)
		if err != nil {
			return err
		}
		if ev.Telemetry {
			c.telemetry++
		} else {
			c.critical++
		}
		if err := index(b.urgent, k, ev.Urgent); err != nil {
			return err
		}
		if err := index(b.telemetry, k, ev.Telemetry); err != nil {
			return err
		}
	}
	for _, idx := range []*bolt.Bucket{b.urgent, b.telemetry} {
		if err := prune(idx, b.outbox); err != nil {
			return err
		}
	}
	if c != readCounters(b.meta) {
		if err := c.put(b.meta); err != nil {
			return err
		}
	}
	if err := verifyRest(tx); err != nil {
		return err
	}
	return verifyValues(tx)
}

// index makes idx hold k exactly when want.
func index(idx *bolt.Bucket, k []byte, want bool) error {
	switch has := idx.Get(k) != nil; {
	case want && !has:
		return idx.Put(k, present)
	case !want && has:
		return idx.Delete(k)
	}
	return nil
}

// prune deletes from idx the keys no longer in the outbox.
func prune(idx, outbox *bolt.Bucket) error {
	var stale [][]byte
	c := idx.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if outbox.Get(k) == nil {
			stale = append(stale, bytes.Clone(k))
		}
	}
	for _, k := range stale {
		if err := idx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// verifyRest reads the last event and every open incident.
func verifyRest(tx *bolt.Tx) error {
	events := tx.Bucket(bucketEvents)
	if k, _ := events.Cursor().Last(); k != nil {
		if _, err := decodeEvent(events, k); err != nil {
			return err
		}
	}
	incidents := tx.Bucket(bucketIncidents)
	c := tx.Bucket(bucketOpen).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		v := incidents.Get(k)
		if v == nil {
			return fmt.Errorf("%w: open incident %q has no snapshot", ErrCorrupt, k)
		}
		if _, err := decodeSnapshot(v); err != nil {
			return err
		}
	}
	return nil
}

// setAside renames path out of the way, never over an existing file.
func setAside(path string, now time.Time) (string, error) {
	aside, err := asideName(path, now)
	if err != nil {
		return "", err
	}
	return aside, moveAside(path, aside)
}

// syncDir makes a rename or a new file in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// verifyValues checks every stored event, its id entry, and every
// snapshot, so that damage anywhere in them is found at Open, not only in
// the pages Open happens to read. Sealed values cost a checksum and a
// lookup each, not a decode (see record.go); legacy values are decoded.
// Measured on a loaded 2-core machine: about 90 ms of CPU for 100,000
// events (60 MB), next to about 170 ms for checkFile's walk.
func verifyValues(tx *bolt.Tx) error {
	ids := tx.Bucket(bucketIDs)
	c := tx.Bucket(bucketEvents).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := verifyEventValue(ids, k, v); err != nil {
			return err
		}
	}
	c = tx.Bucket(bucketIncidents).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := verifySnapshotValue(k, v); err != nil {
			return err
		}
	}
	return nil
}
