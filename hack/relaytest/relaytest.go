// Package relaytest watches the kiosk's live relay the way real viewers
// do, for tests: an RTSP client (gortsplib, interleaved TCP) that decodes
// what it receives into access units, a viewer that plays and then never
// reads, and a reader of the fMP4 stream for ffprobe.
package relaytest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"
)

// Dial opens a viewer's connection; nil dials TCP to the URL's host.
type Dial func(ctx context.Context, network, addr string) (net.Conn, error)

// Unix dials the unix socket at path whatever the address.
func Unix(path string) Dial {
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}
}

// Viewer is one RTSP viewer counting the access units it decodes.
type Viewer struct {
	Client *gortsplib.Client
	Codec  string // "h264" or "h265", from the SDP

	mu       sync.Mutex
	units    int
	keys     int
	firstKey bool // the first unit decoded was a keyframe
	errors   int  // packets the decoder refused after the first unit
	changed  chan struct{}
}

// Watch connects to url, sets up the video track over TCP and plays. It
// fails the test if any step fails; the client closes with the test.
func Watch(t testing.TB, url string, dial Dial) *Viewer {
	t.Helper()
	v, err := Try(url, dial)
	if err != nil {
		t.Fatalf("watch %s: %v", url, err)
	}
	t.Cleanup(v.Client.Close)
	return v
}

// Try is Watch returning the error: a refused token, a missing camera.
// The caller closes v.Client.
func Try(url string, dial Dial) (*Viewer, error) {
	tcp := gortsplib.TransportTCP
	v := &Viewer{Client: &gortsplib.Client{Transport: &tcp, DialContext: dial}, changed: make(chan struct{}, 1)}
	u, err := base.ParseURL(url)
	if err != nil {
		return nil, err
	}
	if err := v.Client.Start(u.Scheme, u.Host); err != nil {
		return nil, err
	}
	if err := v.play(u); err != nil {
		v.Client.Close()
		return nil, err
	}
	return v, nil
}

// decoder is what the H.264 and H.265 RTP decoders have in common.
type decoder interface {
	Decode(*rtp.Packet) ([][]byte, error)
}

func (v *Viewer) play(u *base.URL) error {
	desc, _, err := v.Client.Describe(u)
	if err != nil {
		return err
	}
	var h264 *format.H264
	var h265 *format.H265
	var medi *description.Media
	var forma format.Format
	var dec decoder
	var isKey func([]byte) bool
	if medi = desc.FindFormat(&h264); medi != nil {
		v.Codec, forma, isKey = "h264", h264, func(n []byte) bool { return n[0]&0x1f == 5 }
		dec, err = h264.CreateDecoder()
	} else if medi = desc.FindFormat(&h265); medi != nil {
		v.Codec, forma, isKey = "h265", h265, func(n []byte) bool { t := n[0] >> 1 & 0x3f; return t >= 16 && t <= 21 }
		dec, err = h265.CreateDecoder()
	} else {
		return errors.New("no H.264 or H.265 track in the SDP")
	}
	if err != nil {
		return err
	}
	if _, err := v.Client.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		return err
	}
	v.Client.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
		au, err := dec.Decode(pkt)
		v.note(au, err, isKey)
	})
	_, err = v.Client.Play(nil)
	return err
}

func (v *Viewer) note(au [][]byte, err error, isKey func([]byte) bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case err != nil && v.units > 0 && !strings.Contains(err.Error(), "more packets"):
		v.errors++
	case err != nil:
		return
	}
	key := false
	for _, nal := range au {
		key = key || len(nal) > 0 && isKey(nal)
	}
	if v.units == 0 {
		v.firstKey = key
	}
	v.units++
	if key {
		v.keys++
	}
	select {
	case v.changed <- struct{}{}:
	default:
	}
}

// Units returns the access units and keyframes decoded so far, whether
// the first was a keyframe, and how many packets failed to decode.
func (v *Viewer) Units() (units, keys int, firstKey bool, bad int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.units, v.keys, v.firstKey, v.errors
}

// WaitUnits waits until the viewer has decoded at least n access units.
func (v *Viewer) WaitUnits(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if got, _, _, _ := v.Units(); got >= n {
			return
		}
		select {
		case <-v.changed:
		case <-deadline:
			got, keys, _, bad := v.Units()
			t.Fatalf("viewer decoded %d access units (%d keyframes, %d bad packets) within %v, want %d", got, keys, bad, timeout, n)
		}
	}
}

// Stall plays url over conn by hand (DESCRIBE, SETUP, PLAY) with a tiny
// receive buffer, then never reads again: a viewer on a dead link. The
// caller closes conn.
func Stall(conn net.Conn, url string) error {
	if rb, ok := conn.(interface{ SetReadBuffer(int) error }); ok {
		rb.SetReadBuffer(4096)
	}
	br := bufio.NewReader(conn)
	session := ""
	steps := []string{
		"DESCRIBE " + url + " RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n",
		"SETUP " + url + "/trackID=0 RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n",
		"PLAY " + url + " RTSP/1.0\r\nCSeq: 3\r\n",
	}
	for _, step := range steps {
		if session != "" {
			step += "Session: " + session + "\r\n"
		}
		if _, err := io.WriteString(conn, step+"\r\n"); err != nil {
			return err
		}
		head, err := readResponse(br)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(head["status"], "RTSP/1.0 200") {
			return fmt.Errorf("%s: %s", strings.Fields(step)[0], head["status"])
		}
		if s, ok := head["session"]; ok {
			session, _, _ = strings.Cut(s, ";")
		}
	}
	return nil
}

// readResponse reads an RTSP response head and skips its body.
func readResponse(br *bufio.Reader) (map[string]string, error) {
	head := map[string]string{}
	for i := 0; ; i++ {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		if i == 0 {
			head["status"] = line
			continue
		}
		if line == "" {
			break
		}
		k, val, _ := strings.Cut(line, ":")
		head[strings.ToLower(k)] = strings.TrimSpace(val)
	}
	var n int
	fmt.Sscan(head["content-length"], &n)
	_, err := br.Discard(n)
	return head, err
}

// Status sends one RTSP request line (e.g. "OPTIONS rtsp://h/cam RTSP/1.0")
// on a fresh TCP connection to addr and returns the status line.
func Status(addr, requestLine string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, requestLine+"\r\nCSeq: 7\r\n\r\n"); err != nil {
		return "", err
	}
	head, err := readResponse(bufio.NewReader(conn))
	if err != nil {
		return "", err
	}
	if head["cseq"] != "7" {
		return head["status"], fmt.Errorf("reply CSeq %q, want 7", head["cseq"])
	}
	return head["status"], nil
}

// FetchMP4 reads the live fMP4 stream at url for d into a file in dir and
// returns its path and the response's Content-Type.
func FetchMP4(t testing.TB, client *http.Client, url string, d time.Duration, dir string) (path, contentType string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	path = filepath.Join(dir, "live.mp4")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := io.Copy(f, resp.Body)
	if ctx.Err() == nil { // the stream ended before d
		t.Fatalf("live stream ended after %d bytes: %v", n, err)
	}
	return path, resp.Header.Get("Content-Type")
}
