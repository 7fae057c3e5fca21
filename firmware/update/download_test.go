package update

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// flakyServer serves data with Range support; its first cut answers stop
// after half the bytes by dropping the connection, as a network that breaks
// mid-transfer does. It records every Range header it was sent.
type flakyServer struct {
	data   []byte
	cuts   int
	ranges bool // honour Range headers

	mu     sync.Mutex
	asked  []string
	served int
}

func (f *flakyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.asked = append(f.asked, r.Header.Get("Range"))
	f.served++
	n := f.served
	f.mu.Unlock()
	if !f.ranges {
		r.Header.Del("Range")
	}
	if n <= f.cuts {
		w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
		w.WriteHeader(http.StatusOK)
		w.Write(f.data[:len(f.data)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the connection drops
	}
	http.ServeContent(w, r, "kioskd", time.Time{}, bytes.NewReader(f.data))
}

func TestDownloadResumes(t *testing.T) {
	data := make([]byte, 3<<20)
	rand.Read(data)
	tests := []struct {
		name       string
		cuts       int
		ranges     bool
		attempts   int
		wantErr    bool
		wantRanges []string
	}{
		{"no cut", 0, true, 3, false, []string{""}},
		{"resumed after a cut", 1, true, 3, false, []string{"", "bytes=" + strconv.Itoa(len(data)/2) + "-"}},
		{"server without Range starts over", 1, false, 3, false, []string{"", "bytes=" + strconv.Itoa(len(data)/2) + "-"}},
		{"attempts spent", 5, true, 2, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := &flakyServer{data: data, cuts: tc.cuts, ranges: tc.ranges}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			dest := filepath.Join(t.TempDir(), "kioskd")
			d := Download{URL: ts.URL, Dest: dest, Size: int64(len(data)), Client: ts.Client(), Attempts: tc.attempts, Backoff: 10 * time.Millisecond}
			err := d.Run(context.Background())
			if (err != nil) != tc.wantErr {
				t.Fatalf("Run() = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			got, _ := os.ReadFile(dest)
			if !bytes.Equal(got, data) {
				t.Errorf("downloaded %d bytes, not the %d served", len(got), len(data))
			}
			if srv.asked[0] != tc.wantRanges[0] || len(srv.asked) != len(tc.wantRanges) || srv.asked[len(srv.asked)-1] != tc.wantRanges[len(tc.wantRanges)-1] {
				t.Errorf("Range headers = %q, want %q", srv.asked, tc.wantRanges)
			}
		})
	}
}

func TestDownloadRefusesTooMuch(t *testing.T) {
	ts := httptest.NewServer(&flakyServer{data: make([]byte, 2000), ranges: true})
	defer ts.Close()
	d := Download{URL: ts.URL, Dest: filepath.Join(t.TempDir(), "kioskd"), Size: 1000, Client: ts.Client(), Attempts: 3}
	start := time.Now()
	if err := d.Run(context.Background()); err == nil {
		t.Fatal("Run() = nil, want an error for 2000 bytes when 1000 were promised")
	}
	if time.Since(start) > 500*time.Millisecond {
		t.Errorf("Run took %s: a server sending too much is not worth retrying", time.Since(start))
	}
}
