package cameras

import (
	"bufio"
	"context"
	"net"
	"net/http"
)

// The browser's side of the live relay: a camera's fragmented MP4 stream,
// proxied byte for byte from its child's socket (the guard console mounts
// it behind the guard's session), and the relay's figures in /api/cameras.

// serveLiveMP4 streams a camera's live fMP4 until the viewer leaves, the
// request's context ends or the child drops the viewer.
func (cs *Set) serveLiveMP4(w http.ResponseWriter, r *http.Request, camera string) {
	if cs.camera(camera) == nil {
		http.Error(w, "no such camera", http.StatusNotFound)
		return
	}
	dctx, cancel := context.WithTimeout(r.Context(), relayDialTimeout)
	var d net.Dialer
	conn, err := d.DialContext(dctx, "unix", liveSocket(cs.live.stateDir, camera))
	cancel()
	if err != nil {
		http.Error(w, "the camera process is not running", http.StatusServiceUnavailable)
		return
	}
	defer conn.Close()
	stop := context.AfterFunc(r.Context(), func() { conn.Close() })
	defer stop()
	req, _ := http.NewRequest(http.MethodGet, "http://"+camera+"/live.mp4", nil) // a constant URL
	if err := req.Write(conn); err != nil {
		http.Error(w, "the camera process did not answer", http.StatusBadGateway)
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		http.Error(w, "the camera process did not answer", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		http.Error(w, "live view: "+resp.Status, resp.StatusCode)
		return
	}
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	flush := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil || flush.Flush() != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
