package console

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
)

// maxUpload bounds one uploaded clip.
const maxUpload = 1 << 30

var uploadName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// uploads receives clips a kiosk was asked to upload (upload_clip): the body
// of a PUT or POST to /uploads/{incident}/{file} is kept as that file under
// dir, and GET serves what has arrived.
type uploads struct{ dir string }

func (u uploads) register(mux *http.ServeMux) {
	mux.HandleFunc("PUT /uploads/{incident}/{file}", u.receive)
	mux.HandleFunc("POST /uploads/{incident}/{file}", u.receive)
	mux.Handle("GET /uploads/", http.StripPrefix("/uploads/", http.FileServer(http.Dir(u.dir))))
}

func (u uploads) receive(w http.ResponseWriter, r *http.Request) {
	incident, file := r.PathValue("incident"), r.PathValue("file")
	if !uploadName.MatchString(incident) || !uploadName.MatchString(file) {
		http.Error(w, "names: letters, digits, '.', '_' and '-' only", http.StatusBadRequest)
		return
	}
	n, err := u.save(filepath.Join(u.dir, incident), file, http.MaxBytesReader(w, r.Body, maxUpload))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, "stored %d bytes\n", n)
}

// save writes body to dir/name through a synced temporary file.
func (u uploads) save(dir, name string, body io.Reader) (int64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("upload: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return 0, fmt.Errorf("upload: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	n, err := io.Copy(tmp, body)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		return 0, fmt.Errorf("upload %s: %w", name, err)
	}
	return n, nil
}
