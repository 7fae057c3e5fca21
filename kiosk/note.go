package kiosk

import (
	"fmt"
	"strings"
)

// maxNoteBytes bounds a guard's note.
const maxNoteBytes = 2000

// addNote records a guard's note. Notes are kept in the journal (the
// incident's timeline), not in the incident itself.
func (st *step) addNote(n AddNote) error {
	text := strings.TrimSpace(n.Text)
	if err := needBy(n.By, text, "text"); err != nil {
		return err
	}
	if len(text) > maxNoteBytes {
		return fmt.Errorf("%w: a note is at most %d bytes", ErrBadInput, maxNoteBytes)
	}
	in, err := st.editIn(n.Incident)
	if err != nil {
		return err
	}
	st.record(in, EvNoteAdded, map[string]any{"by": n.By, "text": text})
	return nil
}
