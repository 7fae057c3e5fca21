package journal

import (
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestFormatRollback: a file written by a newer program of the same major
// (a higher minor, a bucket and a meta key this program does not know) is
// opened and written by this one, as after a firmware rollback, and keeps
// its higher minor; an older file is raised to this program's minor.
func TestFormatRollback(t *testing.T) {
	path := tempPath(t)
	j := mustOpen(t, path)
	mustAppend(t, j, time.Unix(1000, 0), []Record{{Type: "kiosk.started"}}, nil)
	if got, err := j.FileFormat(); got != FormatVersion || err != nil {
		t.Errorf("new file FileFormat() = %q, %v, want %q", got, err, FormatVersion)
	}
	j.Close()

	withBolt(t, path, func(tx *bolt.Tx) error { // what a newer minor might add
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(keySchemaMinor, putUint(schemaMinor+5)); err != nil {
			return err
		}
		if err := meta.Put([]byte("from_the_future"), []byte("x")); err != nil {
			return err
		}
		_, err := tx.CreateBucket([]byte("future_bucket"))
		return err
	})
	j = mustOpen(t, path)
	evs := mustAppend(t, j, time.Unix(2000, 0), []Record{{Type: "kiosk.started"}}, nil)
	if evs[0].Seq != 2 {
		t.Errorf("seq after the newer program = %d, want 2", evs[0].Seq)
	}
	want := fmt.Sprintf("%d.%d", schemaVersion, schemaMinor+5)
	if got, _ := j.FileFormat(); got != want {
		t.Errorf("FileFormat() after an older program opened it = %q, want %q (never lowered)", got, want)
	}
	j.Close()

	withBolt(t, path, func(tx *bolt.Tx) error { // as the first release left it
		return tx.Bucket(bucketMeta).Delete(keySchemaMinor)
	})
	j = mustOpen(t, path)
	if got, _ := j.FileFormat(); got != FormatVersion {
		t.Errorf("FileFormat() of a first-release file after Open = %q, want %q", got, FormatVersion)
	}
}
