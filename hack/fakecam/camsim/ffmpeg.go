package camsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// RequireFFmpeg skips the test without ffmpeg and ffprobe, or fails it
// when CI is set (Debian package ffmpeg).
func RequireFFmpeg(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			err = fmt.Errorf("%s not found; install the ffmpeg apt package", tool)
			if os.Getenv("CI") != "" {
				t.Fatal(err)
			}
			t.Skip(err)
		}
	}
}

// Encode writes a test pattern clip of the given seconds with ffmpeg into
// dir/name; args are the encoder options (e.g. "-c:v", "libx264", "-g",
// "50"). The file name's extension picks the container: .h264/.h265 for
// Annex-B, .mp4 for MP4.
func Encode(dir, name, size string, seconds int, args ...string) (string, error) {
	path := filepath.Join(dir, name)
	cmd := []string{"-hide_banner", "-loglevel", "error", "-f", "lavfi",
		"-i", "testsrc2=size=" + size + ":rate=25", "-t", strconv.Itoa(seconds), "-pix_fmt", "yuv420p"}
	cmd = append(append(cmd, args...), "-y", path)
	if out, err := exec.Command("ffmpeg", cmd...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("ffmpeg %v: %w: %s", args, err, out)
	}
	return path, nil
}

// Probe is what ffprobe says of a clip's first video stream.
type Probe struct {
	Codec         string
	Width, Height int
	Packets       []ProbePacket // in decode order
}

// ProbePacket is one coded picture.
type ProbePacket struct {
	PTS float64 // seconds
	Key bool
}

// Duration is the span from the first to the last picture's time.
func (p Probe) Duration() float64 {
	if len(p.Packets) == 0 {
		return 0
	}
	return p.Packets[len(p.Packets)-1].PTS - p.Packets[0].PTS
}

// ProbeFile runs ffprobe on path, and decodes the whole file with ffmpeg:
// any decoding error fails it.
func ProbeFile(path string) (Probe, error) {
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-of", "json",
		"-show_entries", "stream=codec_name,width,height:packet=pts_time,flags", path).Output()
	if err != nil {
		return Probe{}, fmt.Errorf("ffprobe %s: %w", path, err)
	}
	var raw struct {
		Streams []struct {
			CodecName     string `json:"codec_name"`
			Width, Height int
		}
		Packets []struct {
			PTS   string `json:"pts_time"`
			Flags string
		}
	}
	if err := json.Unmarshal(out, &raw); err != nil || len(raw.Streams) == 0 {
		return Probe{}, fmt.Errorf("ffprobe %s: no video stream (%v)", path, err)
	}
	p := Probe{Codec: raw.Streams[0].CodecName, Width: raw.Streams[0].Width, Height: raw.Streams[0].Height}
	for _, pk := range raw.Packets {
		pts, _ := strconv.ParseFloat(pk.PTS, 64)
		p.Packets = append(p.Packets, ProbePacket{PTS: pts, Key: len(pk.Flags) > 0 && pk.Flags[0] == 'K'})
	}
	var stderr bytes.Buffer
	dec := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-")
	dec.Stderr = &stderr
	if err := dec.Run(); err != nil || stderr.Len() > 0 {
		return p, fmt.Errorf("decode %s: %v: %s", path, err, stderr.String())
	}
	return p, nil
}
