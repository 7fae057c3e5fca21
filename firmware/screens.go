package firmware

import (
	"context"
	"net/http"
	"time"

	"kioskd/cloudlink"
	"kioskd/kiosk"
	"kioskd/kiosk/screen"
)

// startLive builds the screens' live-update hub and feeds it every commit.
func (d *Daemon) startLive(ctrl *kiosk.Controller, s kiosk.State) {
	d.hub = screen.NewHub(s)
	ctrl.OnCommit(d.hub.Publish)
}

// runLive tells the screens when the platform link goes up or down (that is
// no journal event) and ends their live connections when ctx is done.
func (d *Daemon) runLive(ctx context.Context, link *cloudlink.Link) {
	defer d.hub.Close()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	online := link.Status().Connected
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if now := link.Status().Connected; now != online {
				online = now
				d.hub.Refresh()
			}
		}
	}
}

// citizenRoutes adds the citizen's touch screen to the kiosk's own listener.
func (d *Daemon) citizenRoutes(mux *http.ServeMux, api *screen.Server, link *cloudlink.Link) {
	c := &screen.Citizen{API: api, Hub: d.hub, Online: func() bool { return link.Status().Connected }}
	c.Register(mux)
}
