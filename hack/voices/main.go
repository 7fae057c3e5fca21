// Command voices generates the citizen screen's voice prompts with espeak-ng
// and ffmpeg: one small Opus-in-Ogg file per prompt and language, written to
// kiosk/screen/assets/voice (embedded in kioskd). Run it from the module root
// after changing a prompt, and commit the outputs:
//
//	go run ./hack/voices
//
// Needs the Debian packages espeak-ng and ffmpeg.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// prompt is one spoken line; the screen plays "{lang}-{name}.ogg".
type prompt struct {
	name, zh, en string
}

// prompts must match the names in kiosk/screen/assets/citizen/citizen.js.
var prompts = []prompt{
	{"registered", "您的呼叫已登记，请稍候。", "Your call is registered. Please wait."},
	{"delivered", "呼叫已送达平台。", "Your call has reached the platform."},
	{"accepted5", "已受理。值班人员将在5分钟内与您联系。", "Accepted. Staff will contact you within 5 minutes."},
	{"accepted", "已受理。值班人员将尽快与您联系。", "Accepted. Staff will contact you soon."},
	{"message", "您有一条新消息，请看屏幕。", "You have a new message on the screen."},
	{"overdue", "回电已超时，已再次提醒值班人员。", "The call-back is late. Staff have been reminded."},
	{"onsite", "平台暂时联系不上。您的呼叫已在本站登记，已通知现场保安。", "The platform cannot be reached. Your call is registered here and the guard on site has been alerted."},
	{"cancelled", "呼叫已取消，记录会保留。", "Your call is cancelled. The record is kept."},
	{"handled", "已由现场人员处理。", "Handled on site."},
	{"escalated", "已转交派出所处理。", "Passed to the police station."},
}

func main() {
	out := flag.String("out", filepath.Join("kiosk", "screen", "assets", "voice"), "output directory")
	bitrate := flag.String("bitrate", "8k", "Opus bitrate")
	flag.Parse()
	if err := run(*out, *bitrate); err != nil {
		fmt.Fprintln(os.Stderr, "voices:", err)
		os.Exit(1)
	}
}

func run(out, bitrate string) error {
	for _, tool := range []string{"espeak-ng", "ffmpeg"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found (apt-get install espeak-ng ffmpeg): %w", tool, err)
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	total := 0
	for _, p := range prompts {
		for _, v := range []struct{ lang, voice, text string }{{"zh", "cmn", p.zh}, {"en", "en-gb", p.en}} {
			path := filepath.Join(out, v.lang+"-"+p.name+".ogg")
			n, err := speak(path, v.voice, v.text, bitrate)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			total += n
			fmt.Printf("%-40s %6d bytes  %s\n", path, n, v.text)
		}
	}
	fmt.Printf("%d files, %d bytes\n", 2*len(prompts), total)
	return nil
}

// speak renders text with espeak-ng and encodes it to mono Opus at bitrate,
// without metadata, so the same text gives the same file.
func speak(path, voice, text, bitrate string) (int, error) {
	var wav, stderr bytes.Buffer
	tts := exec.Command("espeak-ng", "-v", voice, "-s", "150", "--stdout", text)
	tts.Stdout, tts.Stderr = &wav, &stderr
	if err := tts.Run(); err != nil {
		return 0, fmt.Errorf("espeak-ng: %w: %s", err, stderr.Bytes())
	}
	enc := exec.Command("ffmpeg", "-loglevel", "error", "-y", "-i", "pipe:0",
		"-ac", "1", "-ar", "16000", "-c:a", "libopus", "-b:a", bitrate, "-application", "voip",
		"-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact", path)
	enc.Stdin, enc.Stderr = &wav, &stderr
	if err := enc.Run(); err != nil {
		return 0, fmt.Errorf("ffmpeg: %w: %s", err, stderr.Bytes())
	}
	info, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return int(info.Size()), nil
}
