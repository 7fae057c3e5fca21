package screen

import (
	"errors"
	"net/http"
	"strings"

	"kioskd/kiosk"
	"kioskd/kiosk/screen/guardauth"
)

// acknowledgeRecovery is a guard acknowledging a journal recovery, from the
// banner the console shows while one waits (kiosk/recovery.go). The
// controller journals it with the guard's name, and the kiosk stops saying
// degraded.
func (g *Guard) acknowledgeRecovery(w http.ResponseWriter, r *http.Request, s guardauth.Session, _ string) {
	note := strings.TrimSpace(r.PostFormValue("note"))
	if err := kiosk.NoteLimit.Check("note", note, false); err != nil {
		writeError(w, http.StatusBadRequest, "说明过长或含有不允许的字符 · "+err.Error())
		return
	}
	err := g.submit(r, kiosk.AcknowledgeRecovery{By: s.User, Note: note})
	switch {
	case err == nil:
		g.Log.Info("guard console: journal recovery acknowledged", "guard", s.User)
		writeJSON(w, http.StatusOK, map[string]string{"ok": "acknowledge"})
	case errors.Is(err, kiosk.ErrRejected):
		writeError(w, http.StatusConflict, "没有待确认的日志恢复 · No journal recovery waits to be acknowledged.")
	case errors.Is(err, kiosk.ErrBadInput):
		writeError(w, http.StatusBadRequest, "内容不完整或过长 · Missing or too long: "+err.Error())
	default:
		g.Log.Error("guard console: acknowledgement not journaled", "guard", s.User, "err", err)
		writeError(w, http.StatusServiceUnavailable, "未能记录，请重试 · Could not be recorded; try again: "+err.Error())
	}
}
