package screen

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"kioskd/kiosk"
	"kioskd/kiosk/screen/guardauth"
)

// action is one of the guard's actions on an incident, POSTed as a form
// with the session's CSRF token. Each is journaled by the controller, and so
// relayed to the platform, with the guard's name on it.
func (g *Guard) action(w http.ResponseWriter, r *http.Request, s guardauth.Session, _ string) {
	in, msg := actionInput(r, s.User)
	if in == nil {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	err := g.submit(r, in)
	if err == nil {
		g.Log.Info("guard console: action", "guard", s.User, "action", r.PathValue("action"), "incident", r.PathValue("id"))
		writeJSON(w, http.StatusOK, map[string]string{"ok": r.PathValue("action")})
		return
	}
	switch {
	case errors.Is(err, kiosk.ErrNotFound):
		writeError(w, http.StatusNotFound, "这个事件已结案或不存在 · This incident is closed or does not exist.")
	case errors.Is(err, kiosk.ErrRejected):
		writeError(w, http.StatusConflict, "事件当前状态不允许此操作 · Not allowed in the incident's present state.")
	case errors.Is(err, kiosk.ErrBadInput):
		writeError(w, http.StatusBadRequest, "内容不完整或过长 · Missing or too long: "+err.Error())
	default:
		g.Log.Error("guard console: action not journaled", "guard", s.User, "err", err)
		writeError(w, http.StatusServiceUnavailable, "未能记录，请重试 · Could not be recorded; try again: "+err.Error())
	}
}

// actionInput builds the controller input of the action in r's path, or
// returns nil and why not.
func actionInput(r *http.Request, user string) (kiosk.Input, string) {
	id := r.PathValue("id")
	field := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	switch r.PathValue("action") {
	case "accept":
		return kiosk.Accept{Incident: id, Responder: user}, ""
	case "note":
		if field("text") == "" {
			return nil, "请填写备注 · Write the note first."
		}
		if err := kiosk.NoteLimit.Check("text", field("text"), true); err != nil {
			return nil, tooLong("备注", "The note", kiosk.NoteLimit, err)
		}
		return kiosk.AddNote{Incident: id, By: user, Text: field("text")}, ""
	case "handle":
		if !slices.Contains(kiosk.Outcomes, field("outcome")) {
			return nil, "请选择处置结果 · Choose an outcome."
		}
		return kiosk.HandleOnSite{Incident: id, By: user, Outcome: field("outcome")}, ""
	case "escalate":
		if field("reason") == "" {
			return nil, "请填写转派出所的原因 · Give the reason for escalating."
		}
		if err := kiosk.ReasonLimit.Check("reason", field("reason"), true); err != nil {
			return nil, tooLong("原因", "The reason", kiosk.ReasonLimit, err)
		}
		return kiosk.Escalate{Incident: id, By: user, Reason: field("reason")}, ""
	case "close":
		if !slices.Contains(closeOutcomes, field("outcome")) {
			return nil, "请选择结案结果 · Choose how it ended."
		}
		return kiosk.Close{Incident: id, By: user, Outcome: field("outcome")}, ""
	}
	return nil, "unknown action " + r.PathValue("action")
}

// tooLong says why a text was refused, in both languages, with its limit.
func tooLong(zh, en string, l kiosk.TextLimit, err error) string {
	return fmt.Sprintf("%s最多%d个字、%d字节，且不能含控制字符 · %s may hold at most %d characters and %d bytes, and no control characters (%v).",
		zh, l.Runes, l.Bytes, en, l.Runes, l.Bytes, err)
}
