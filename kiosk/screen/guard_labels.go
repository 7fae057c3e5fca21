package screen

import (
	"html/template"
	"slices"
	"strings"
	"time"

	"kioskd/kiosk"
)

// label is a word of the console in Chinese first, with English beside it.
type label struct{ ZH, EN string }

var requestLabels = map[kiosk.Request]label{
	kiosk.Police:    {"找警察", "Police"},
	kiosk.Community: {"找社区", "Community"},
	kiosk.Lawyer:    {"找律师", "Lawyer"},
	kiosk.Market:    {"市场监管", "Market supervision"},
	kiosk.Labour:    {"劳动监察", "Labour inspection"},
	kiosk.Tamper:    {"设备被打开", "Tamper alarm"},
}

var statusLabels = map[kiosk.Status]label{
	kiosk.Registered:    {"已登记", "Registered"},
	kiosk.Delivered:     {"已送达平台", "Delivered"},
	kiosk.Accepted:      {"已接单", "Accepted"},
	kiosk.HandledOnSite: {"已当场处置", "Handled on site"},
	kiosk.Escalated:     {"已转派出所", "Escalated"},
	kiosk.Cancelled:     {"来电人已取消", "Cancelled by caller"},
	kiosk.Closed:        {"已结案", "Closed"},
}

var outcomeLabels = map[string]label{
	kiosk.OutcomeMediated:    {"当场调解", "Mediated"},
	kiosk.OutcomeAdviceGiven: {"当场解答", "Advice given"},
	kiosk.OutcomeReferred:    {"引导至相关部门", "Referred"},
	kiosk.OutcomeFalseAlarm:  {"误报", "False alarm"},
	closedHandedOver:         {"已移交派出所", "Handed to the station"},
	closedCancelled:          {"来电人已取消", "Cancelled by caller"},
}

var eventLabels = map[string]label{
	kiosk.EvRegistered:       {"登记", "Registered"},
	kiosk.EvPressedAgain:     {"再次按下", "Pressed again"},
	kiosk.EvUrgent:           {"升为紧急", "Made urgent"},
	kiosk.EvDelivered:        {"已送达平台", "Delivered to the platform"},
	kiosk.EvAccepted:         {"接单", "Accepted"},
	kiosk.EvMessage:          {"发往屏幕的消息", "Message to the screen"},
	kiosk.EvNoteAdded:        {"备注", "Note"},
	kiosk.EvHandledOnSite:    {"当场处置", "Handled on site"},
	kiosk.EvEscalated:        {"转派出所", "Escalated to the station"},
	kiosk.EvCancelled:        {"来电人取消", "Cancelled by the caller"},
	kiosk.EvClosed:           {"结案", "Closed"},
	kiosk.EvOverdue:          {"超时", "Overdue"},
	kiosk.EvClipRecording:    {"开始录像", "Recording"},
	kiosk.EvClipReady:        {"录像就绪", "Clip ready"},
	kiosk.EvClipFailed:       {"录像失败", "Clip failed"},
	kiosk.EvClipUploaded:     {"录像已上传", "Clip uploaded"},
	kiosk.EvClipUploadFailed: {"录像上传失败", "Clip upload failed"},
	kiosk.EvClipEvicted:      {"录像因空间不足删除", "Clip deleted for disk space"},
}

var cameraStateLabels = map[string]label{
	"online":       {"正常", "online"},
	"no_video":     {"无画面", "no video"},
	"offline":      {"离线", "offline"},
	"config_fault": {"配置错误", "configuration fault"},
}

var clipStateLabels = map[string]label{
	"recording": {"录像中", "recording"},
	"ready":     {"可播放", "ready"},
	"uploaded":  {"已上传", "uploaded"},
	"failed":    {"录像失败", "failed"},
	"evicted":   {"已删除(空间不足)", "deleted for disk space"},
}

var deadlineLabels = map[string]label{
	kiosk.CallbackDeadline: {"回电期限", "call-back deadline"},
	kiosk.CloseDeadline:    {"结案期限", "closure deadline"},
}

// lookup finds a label, or shows the raw value in both places.
func lookup[K ~string](m map[K]label, k K) label {
	if l, ok := m[k]; ok {
		return l
	}
	return label{string(k), string(k)}
}

// sourceLabel says where a call came from: a button, the touch screen, the
// tamper switch.
func sourceLabel(source string) label {
	switch {
	case strings.HasPrefix(source, "button:"):
		name := strings.TrimPrefix(source, "button:")
		return label{"按钮 " + name, "button " + name}
	case source == "screen":
		return label{"触摸屏", "touch screen"}
	case source == "tamper":
		return label{"防拆开关", "tamper switch"}
	}
	return label{source, source}
}

var guardFuncs = template.FuncMap{
	"request":   func(r kiosk.Request) label { return lookup(requestLabels, r) },
	"status":    func(s kiosk.Status) label { return lookup(statusLabels, s) },
	"outcome":   func(o string) label { return lookup(outcomeLabels, o) },
	"event":     func(t string) label { return lookup(eventLabels, t) },
	"deadline":  func(d string) label { return lookup(deadlineLabels, d) },
	"source":    sourceLabel,
	"camstate":  func(st string) label { return lookup(cameraStateLabels, st) },
	"clipstate": func(st string) label { return lookup(clipStateLabels, st) },
	"outcomes":  func() []string { return kiosk.Outcomes },
	// The browser's maxlength counts UTF-16 units, at least one a character:
	// it never lets through more characters than the kiosk takes.
	"noteMax":   func() int { return kiosk.NoteLimit.Runes },
	"reasonMax": func() int { return kiosk.ReasonLimit.Runes },
	"iso":       func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
	"clock":     func(t time.Time) string { return t.Local().Format("15:04:05") },
	"overdue":   func(in *kiosk.Incident, d string) bool { return slices.Contains(in.Overdue, d) },
	"canAccept": func(in *kiosk.Incident) bool {
		return in.Status == kiosk.Registered || in.Status == kiosk.Delivered
	},
	"canHandle": func(in *kiosk.Incident) bool {
		return in.Status == kiosk.Registered || in.Status == kiosk.Delivered || in.Status == kiosk.Accepted
	},
	"canEscalate": func(in *kiosk.Incident) bool {
		return in.Status != kiosk.Escalated && in.Status != kiosk.Cancelled
	},
}
