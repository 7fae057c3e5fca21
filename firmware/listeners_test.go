package firmware_test

import (
	"net"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/hack/brokertest"
)

// A guard console that cannot listen (its port is taken, as a LAN address
// not up yet at boot would be) leaves the alarm path running, raises
// listener:guard, and comes up by itself once it can.
func TestGuardListenerCannotStopAlarms(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := taken.Addr().String()
	cfgPath, httpAddr := simConfig(t, t.TempDir(), broker.URL(), func(c *config.Config) {
		c.Guard.Listen = addr
		c.Guard.Users = []config.GuardUser{{Name: guardName, PasswordHash: guardHash}}
	})
	p := newPlatform(t, broker.URL(), true)
	k := startKiosk(t, cfgPath, httpAddr)
	p.waitEvents("fault listener:guard raised", 10*time.Second, func(evs []contract.Event) bool {
		return hasFault(evs, "fault.raised", "listener:guard")
	})
	k.press("police")
	p.waitEvents("the press, with the console down", 10*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.registered")) == 1
	})
	taken.Close()
	waitListening(t, "http://"+addr+"/guard/login")
	p.waitEvents("fault listener:guard cleared", 10*time.Second, func(evs []contract.Event) bool {
		return hasFault(evs, "fault.cleared", "listener:guard")
	})
}
