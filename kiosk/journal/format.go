package journal

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The journal's format version is MAJOR.MINOR, kept in the meta bucket, so
// that a kioskd rolled back after an update still reads what the newer one
// wrote:
//
//   - MAJOR (meta "schema_version", schemaVersion) changes only when older
//     programs would misread the file: a bucket's keys or values change
//     meaning or encoding, a bucket is removed. A program refuses a file of
//     a higher major (ErrSchemaTooNew) and leaves it untouched.
//   - MINOR (meta "schema_minor", schemaMinor) counts additive changes
//     within a major: a new bucket, a new meta key, a new field in a JSON
//     value. A program opens a file of any minor of its own major; it
//     ignores what it does not know, and Open's reconcile rebuilds the
//     indexes and counters a newer program keeps, so both may take turns
//     on the same file.
//
// Open writes the higher of the file's minor and its own, so the file
// remembers the newest format that wrote to it (a rolled-back program
// never lowers it). An update that needs a new major must migrate on
// first start and cannot be rolled back past it; see firmware/update.
//
// Minor history, major 1: 0 first release; 1 urgent and telemetry
// classes with their counters; 2 clips, the command counter and
// schema_minor itself; 3 the command replay window (bucket command_window,
// meta command_floor; see counter.go); 4 a "crc" field sealing every event
// and snapshot value, a "stamp" field in snapshots, and the meta key
// salvage_report (see record.go and salvage.go).
const schemaMinor = 4

var keySchemaMinor = []byte("schema_minor") // uint64

// FormatVersion is the format this program writes, "MAJOR.MINOR".
var FormatVersion = fmt.Sprintf("%d.%d", schemaVersion, schemaMinor)

// noteFormat raises the file's minor to this program's.
func noteFormat(meta *bolt.Bucket) error {
	if getUint(meta.Get(keySchemaMinor)) >= schemaMinor {
		return nil
	}
	return meta.Put(keySchemaMinor, putUint(schemaMinor))
}

// FileFormat is the format version recorded in the file, "MAJOR.MINOR":
// the newest format that has written to it.
func (j *Journal) FileFormat() (string, error) {
	var v string
	err := j.view("file format", func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		v = fmt.Sprintf("%d.%d", getUint(meta.Get(keySchema)), getUint(meta.Get(keySchemaMinor)))
		return nil
	})
	return v, err
}
