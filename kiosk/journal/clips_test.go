package journal

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func clipIDs(cs []Clip) []string {
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

func mustAddClip(t *testing.T, j *Journal, id, incident string, ordered time.Time) {
	t.Helper()
	if err := j.AddClip(Clip{ID: id, Incident: incident, Camera: "door", File: id + ".mp4", Ordered: ordered}); err != nil {
		t.Fatalf("AddClip(%s): %v", id, err)
	}
}

func mustFinishClip(t *testing.T, j *Journal, id string, bytes int64) Clip {
	t.Helper()
	c, err := j.FinishClip(Clip{ID: id, State: ClipReady, Bytes: bytes, SHA256: "ab", DurationMs: 30000})
	if err != nil {
		t.Fatalf("FinishClip(%s): %v", id, err)
	}
	return c
}

func TestClipLifecycle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	j := mustOpen(t, path)
	mustAddClip(t, j, "c1", "inc-1", t0)
	if err := j.AddClip(Clip{ID: "c1", Incident: "inc-1"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("AddClip(existing) = %v, want ErrInvalid", err)
	}
	if _, err := j.MarkClipAcked("c1"); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func() (Clip, error)
		want string
	}{
		{"acked while recording stays recording", func() (Clip, error) { return j.MarkClipAcked("c1") }, ClipRecording},
		{"finish", func() (Clip, error) { return mustFinishClip(t, j, "c1", 1000), nil }, ClipReady},
		{"a second report changes nothing", func() (Clip, error) {
			return j.FinishClip(Clip{ID: "c1", State: ClipFailed, Error: "late"})
		}, ClipReady},
		{"acked", func() (Clip, error) { return j.MarkClipAcked("c1") }, ClipAcked},
		{"uploaded after the ack", func() (Clip, error) { return j.MarkClipUploaded("c1", t0) }, ClipUploaded},
		{"the upload acked", func() (Clip, error) { return j.MarkClipAcked("c1") }, ClipAcked},
	}
	for _, s := range steps {
		c, err := s.do()
		if err != nil || c.State != s.want {
			t.Fatalf("%s: state %q, %v; want %q", s.name, c.State, err, s.want)
		}
	}
	j.Close()
	j = mustOpen(t, path) // the index survives a restart
	c, err := j.ClipByID("c1")
	if err != nil || c.State != ClipAcked || c.Bytes != 1000 || c.SHA256 != "ab" || !c.UploadedAt.Equal(t0) {
		t.Errorf("after reopen: %+v, %v", c, err)
	}
	if _, err := j.ClipByID("nope"); !errors.Is(err, ErrNoClip) {
		t.Errorf("ClipByID(unknown) = %v, want ErrNoClip", err)
	}
	if _, err := j.MarkClipAcked("nope"); !errors.Is(err, ErrNoClip) {
		t.Errorf("MarkClipAcked(unknown) = %v, want ErrNoClip", err)
	}
	if err := j.ForgetClip("c1"); err != nil {
		t.Fatal(err)
	}
	if all, err := j.Clips(); err != nil || len(all) != 0 {
		t.Errorf("Clips() after ForgetClip = %v, %v; want none", clipIDs(all), err)
	}
}

func TestClipFailedUploadRefused(t *testing.T) {
	j := mustOpen(t, filepath.Join(t.TempDir(), "j.db"))
	mustAddClip(t, j, "c1", "inc-1", t0)
	if _, err := j.FinishClip(Clip{ID: "c1", State: ClipFailed, Error: "camera lost"}); err != nil {
		t.Fatal(err)
	}
	c, err := j.MarkClipUploaded("c1", t0)
	if err != nil || c.State != ClipFailed || c.Error != "camera lost" {
		t.Errorf("MarkClipUploaded(failed clip) = %+v, %v; want it left failed", c, err)
	}
	if _, err := j.FinishClip(Clip{ID: "c1", State: ClipAcked}); !errors.Is(err, ErrInvalid) {
		t.Errorf("FinishClip(state acked) = %v, want ErrInvalid", err)
	}
}

// TestClipsToDelete: retention by age and by quota never offers a clip of
// an open incident, one the platform has not acknowledged, or one whose
// bytes the platform does not hold; under disk pressure ClipsToEvict
// offers clips of closed incidents, held ones first, oldest first.
func TestClipsToDelete(t *testing.T) {
	j := mustOpen(t, filepath.Join(t.TempDir(), "j.db"))
	day := 24 * time.Hour
	// inc-open is open; inc-closed is closed (its snapshot says so).
	mustAppend(t, j, t0, []Record{{Type: "incident.registered", Incident: "inc-open"}},
		[]Snapshot{{ID: "inc-open", Open: true}, {ID: "inc-closed", Open: false}})
	clips := []struct {
		id, incident string
		age          time.Duration
		acked        bool
	}{
		{"old-acked", "inc-closed", 40 * day, true},
		{"old-unacked", "inc-closed", 39 * day, false},
		{"old-open", "inc-open", 38 * day, true},
		{"old-not-held", "inc-closed", 37 * day, true}, // acked, never uploaded or fetched
		{"mid-acked", "inc-closed", 10 * day, true},
		{"new-acked", "inc-closed", 1 * day, true},
		{"new-recording", "inc-closed", 0, false},
	}
	now := t0.Add(50 * day)
	for _, c := range clips {
		mustAddClip(t, j, c.id, c.incident, now.Add(-c.age))
		if c.id == "new-recording" {
			continue
		}
		mustFinishClip(t, j, c.id, 100)
		if c.id != "old-not-held" {
			if _, err := j.MarkClipFetched(c.id, now); err != nil {
				t.Fatal(err)
			}
		}
		if c.acked {
			if _, err := j.MarkClipAcked(c.id); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name            string
		quota, needFree int64
		want            []string
	}{
		{"age only", 1 << 30, 0, []string{"old-acked"}},
		{"quota of 400 of 600 bytes", 400, 0, []string{"old-acked", "mid-acked"}},
		{"quota of 0: everything deletable", 0, 0, []string{"old-acked", "mid-acked", "new-acked"}},
		{"free 150 bytes", 1 << 30, 150, []string{"old-acked", "mid-acked"}},
	}
	for _, tt := range tests {
		got, err := j.ClipsToDelete(now, 30*day, tt.quota, tt.needFree)
		if err != nil || !slices.Equal(clipIDs(got), tt.want) {
			t.Errorf("%s: ClipsToDelete() = %v, %v; want %v", tt.name, clipIDs(got), err, tt.want)
		}
	}
	evict := []struct {
		needFree int64
		want     []string
	}{
		{0, nil},
		{250, []string{"old-acked", "old-unacked", "mid-acked"}},
		{1 << 30, []string{"old-acked", "old-unacked", "mid-acked", "new-acked", "old-not-held"}},
	}
	for _, tt := range evict {
		got, err := j.ClipsToEvict(tt.needFree)
		if err != nil || !slices.Equal(clipIDs(got), tt.want) {
			t.Errorf("ClipsToEvict(%d) = %v, %v; want %v", tt.needFree, clipIDs(got), err, tt.want)
		}
	}
	// Closing the open incident makes its acked clip deletable.
	mustAppend(t, j, now, []Record{{Type: "incident.closed", Incident: "inc-open"}}, []Snapshot{{ID: "inc-open"}})
	got, err := j.ClipsToDelete(now, 30*day, 1<<30, 0)
	if want := []string{"old-acked", "old-open"}; err != nil || !slices.Equal(clipIDs(got), want) {
		t.Errorf("after closing inc-open: ClipsToDelete() = %v, %v; want %v", clipIDs(got), err, want)
	}
}

// TestClipMarks: a recording clip keeps its announcement and its start
// through its end; a fetch counts only for a finished clip, the first one
// wins, and makes the clip held.
func TestClipMarks(t *testing.T) {
	j := mustOpen(t, filepath.Join(t.TempDir(), "j.db"))
	mustAddClip(t, j, "c1", "inc-1", t0)
	if c, err := j.MarkClipFetched("c1", t0); err != nil || !c.FetchedAt.IsZero() || c.Held() {
		t.Errorf("fetch while recording: %+v, %v; want not fetched", c, err)
	}
	if _, err := j.MarkClipAnnounced("c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := j.MarkClipStarted("c1", t0.Add(-5*time.Second), 5200); err != nil {
		t.Fatal(err)
	}
	c, err := j.FinishClip(Clip{ID: "c1", State: ClipReady, Start: t0.Add(-5 * time.Second), Bytes: 10, SHA256: "ab", Partial: true})
	if err != nil || !c.Announced || c.BeforePressMs != 5200 || !c.Partial || !c.Start.Equal(t0.Add(-5*time.Second)) {
		t.Errorf("finished: %+v, %v; want announced, started 5.2 s before the press, partial", c, err)
	}
	if c, err := j.MarkClipStarted("c1", t0, 0); err != nil || c.BeforePressMs != 5200 {
		t.Errorf("start after the end: %+v, %v; want it left", c, err)
	}
	j.MarkClipFetched("c1", t0.Add(time.Minute))
	c, err = j.MarkClipFetched("c1", t0.Add(time.Hour))
	if err != nil || !c.FetchedAt.Equal(t0.Add(time.Minute)) || !c.Held() {
		t.Errorf("fetched twice: %+v, %v; want the first fetch, held", c, err)
	}
}
