package kiosk

import "strings"

// addNote records a guard's note. Notes are kept in the journal (the
// incident's timeline), not in the incident itself.
func (st *step) addNote(n AddNote) error {
	if err := needBy(n.By, NoteLimit.Check("text", n.Text, true)); err != nil {
		return err
	}
	in, err := st.editIn(n.Incident)
	if err != nil {
		return err
	}
	st.record(in, EvNoteAdded, map[string]any{"by": n.By, "text": strings.TrimSpace(n.Text)})
	return nil
}
