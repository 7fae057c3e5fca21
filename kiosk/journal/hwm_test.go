package journal

import (
	"os"
	"testing"
)

// The mark is written at Open and once per block of seqBlock seqs, and
// always covers every seq used.
func TestHighWaterMarkReserves(t *testing.T) {
	path := tempPath(t)
	j := mustOpen(t, path)
	m, ok := readMark(hwmPath(path))
	if !ok || m.Epoch != 1 || m.Reserved != seqBlock {
		t.Fatalf("mark after Open = %+v, %v; want epoch 1, %d reserved", m, ok, seqBlock)
	}
	gen := m.Gen
	recs := make([]Record, 1000)
	for i := range recs {
		recs[i] = rec("a", "")
	}
	for range seqBlock/len(recs) + 1 {
		mustAppend(t, j, t0, recs, nil)
		last, _ := j.LastSeq()
		if m, _ := readMark(hwmPath(path)); m.Reserved < last {
			t.Fatalf("mark reserves %d, seq %d used", m.Reserved, last)
		}
	}
	if m, _ := readMark(hwmPath(path)); m.Gen != gen+1 || m.Reserved != 11_000+seqBlock {
		t.Errorf("mark after %d events = %+v; want one more write, reserving %d", seqBlock+1000, m, 11_000+seqBlock)
	}
}

// A torn write spoils one slot: the other still holds a mark, never a
// lower one than any the journal relied on before the torn write.
func TestHighWaterMarkTornSlot(t *testing.T) {
	path := tempPath(t)
	for range 3 {
		j := mustOpen(t, path)
		j.Close()
	}
	m, _ := readMark(hwmPath(path)) // epoch 3, generation 3, in slot 1
	b, err := os.ReadFile(hwmPath(path))
	if err != nil {
		t.Fatal(err)
	}
	b[hwmSlot+20] ^= 0xff // tear the newest slot
	writeFile(t, hwmPath(path), b)
	got, ok := readMark(hwmPath(path))
	if !ok || got.Gen != m.Gen-1 || got.Epoch != m.Epoch-1 {
		t.Fatalf("readMark with the newest slot torn = %+v, %v; want generation %d", got, ok, m.Gen-1)
	}
	j := mustOpen(t, path)
	if j.BootEpoch() != 4 {
		t.Errorf("BootEpoch() = %d, want 4 from the journal itself", j.BootEpoch())
	}
	b[0] ^= 0xff // both slots torn: no mark
	writeFile(t, hwmPath(path)+".x", b)
	if _, ok := readMark(hwmPath(path) + ".x"); ok {
		t.Error("readMark found a mark in two torn slots")
	}
}
