package camsim

import (
	"fmt"
	"net/http"
	"strconv"
)

// Handler is a tiny control endpoint for a set of cameras:
//
//	GET  /cameras               one line per camera: index, URL, mode
//	POST /cameras/{i}/{mode}    switch camera i (from 0) to a mode
func Handler(cams []*Camera) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cameras", func(w http.ResponseWriter, r *http.Request) {
		for i, c := range cams {
			fmt.Fprintf(w, "%d %s %s\n", i, c.URL(), c.Mode())
		}
	})
	mux.HandleFunc("POST /cameras/{i}/{mode}", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.PathValue("i"))
		if err != nil || i < 0 || i >= len(cams) {
			http.Error(w, "no such camera", http.StatusNotFound)
			return
		}
		m, err := ParseMode(r.PathValue("mode"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		cams[i].SetMode(m)
		fmt.Fprintf(w, "%d %s\n", i, m)
	})
	return mux
}
