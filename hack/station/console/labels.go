package console

import (
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"

	"kioskd/cloudlink/contract"
)

// Labels: Chinese first, English beside, as the staff read them.
var (
	requestLabels = map[string]string{
		"police": "找警察 Police", "community": "找社区 Community", "lawyer": "找律师 Lawyer",
		"market": "市场监管 Market supervision", "labour": "劳动监察 Labour inspection",
		"tamper": "防拆报警 Tamper alarm",
	}
	statusLabels = map[string]string{
		"registered": "已登记 Registered", "delivered": "已送达 Delivered", "accepted": "已接警 Accepted",
		"handled_on_site": "现场处置 Handled on site", "escalated": "已转派出所 Escalated",
		"cancelled": "已取消 Cancelled",
		"no_video":  "无画面 No video", "config_fault": "配置错误 Config fault",
		"online": "在线 Online", "offline": "离线 Offline", "stopped": "已停止 Stopped", "unknown": "未知 Unknown",
	}
	eventLabels = map[string]string{
		"kiosk.started": "启动 Started", "incident.registered": "登记 Registered",
		"incident.pressed_again": "再次按键 Pressed again", "incident.urgent": "紧急 Urgent",
		"incident.delivered": "已送达 Delivered", "incident.accepted": "接警 Accepted",
		"incident.message": "留言 Message", "incident.handled_on_site": "现场处置 Handled on site",
		"incident.escalated": "转派出所 Escalated", "incident.cancelled": "取消 Cancelled",
		"incident.closed": "结案 Closed", "incident.overdue": "超时 Overdue",
		"fault.raised": "故障 Fault", "fault.cleared": "故障解除 Fault cleared",
		"journal.recovered": "日志恢复 Journal recovered", "clock.stepped": "时钟校正 Clock stepped",
		"journal.recovery_acknowledged": "日志恢复已确认 Recovery acknowledged",
		"security.command_refused":      "指令被拒 Command refused",
		"clip.recording":                "录像中 Clip recording", "clip.ready": "录像就绪 Clip ready",
		"clip.failed": "录像失败 Clip failed", "clip.upload_progress": "上传中 Clip uploading",
		"clip.uploaded": "录像已上传 Clip uploaded", "clip.upload_failed": "上传失败 Clip upload failed",
		"clip.evicted":     "录像因空间不足删除 Clip evicted for disk space",
		"camera.state":     "摄像头状态 Camera state",
		"self_test.passed": "自检通过 Self-test passed", "self_test.failed": "自检失败 Self-test failed",
		"update.downloading": "下载中 Downloading", "update.deferred": "推迟 Deferred",
		"update.verified": "已校验 Verified", "update.installed": "已安装 Installed",
		"update.committed": "升级完成 Committed", "update.rejected": "拒绝升级 Rejected",
		"update.rolled_back": "已回滚 Rolled back",
	}
	commandLabels = map[string]string{
		"accept": "接警 Accept", "message": "留言 Message", "escalate": "转派出所 Escalate",
		"close": "结案 Close", contract.CmdUploadClip: "调取录像 Clip upload",
		contract.CmdSelfTest: "自检 Self-test", contract.CmdUpdate: "升级 Update",
		contract.CmdAcknowledgeRecovery: "确认日志恢复 Acknowledge recovery",
	}
	outcomeLabels = map[string]string{
		"ok": "成功 ok", "pending": "等待回复 pending", "no_reply": "无回复 no reply",
		"send_failed": "发送失败 send failed",
		// a rollout's kiosk (rollout.go)
		"waiting": "待发 waiting", "sending": "发送中 sending", "sent": "已发送 sent",
		"skipped": "跳过 skipped", "up_to_date": "已是此版本 up to date", "timeout": "超时 timeout",
		"downloading": "下载中 downloading", "verified": "已校验 verified", "deferred": "推迟 deferred",
		"installed": "已安装 installed", "committed": "升级完成 committed", "rejected": "拒绝 rejected",
		"rolled_back": "已回滚 rolled back", "passed": "自检通过 passed", "failed": "失败 failed",
		"running": "进行中 running", "halted": "已暂停 halted", "stopped": "已停止 stopped", "done": "完成 done",
	}
)

func label(m map[string]string, key string) string {
	if l, ok := m[key]; ok {
		return l
	}
	return key
}

var templateFuncs = template.FuncMap{
	"request": func(s string) string { return label(requestLabels, s) },
	"status":  func(s string) string { return label(statusLabels, s) },
	"event":   func(s string) string { return label(eventLabels, s) },
	"command": func(s string) string { return label(commandLabels, s) },
	"outcome": func(s string) string { return label(outcomeLabels, s) },
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"clock":   func(t time.Time) string { return t.Local().Format("01-02 15:04:05") },
	"age":     age,
	"left":    left,
	"bytes":   humanBytes,
	"join":    strings.Join,
	"has":     slices.Contains[[]string],
	"inc":     func(i int) int { return i + 1 },
}

// age says how long ago t was, e.g. "12 s", "3 min", "2 h".
func age(t, now time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return short(now.Sub(t))
}

// left says how long until due, or how long past it with a leading "+".
func left(due, now time.Time) string {
	d := due.Sub(now)
	if d < 0 {
		return "+" + short(-d)
	}
	return short(d)
}

func short(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %02d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d d", int(d.Hours()/24))
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
