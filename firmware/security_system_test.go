package firmware_test

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/hack/brokertest"
)

// These tests run the real kioskd against a mosquitto set up as
// cloudlink/SECURITY.md says, with its conf and ACL blocks word for word:
// TLS only, a client certificate required, its CN the username (and, for
// kiosks, the client id), kiosks and the platform on listeners of their own.

// platformCN is the platform's identity in SECURITY.md's ACL.
const platformCN = "platform.gongzhi"

// quiet is how long a test waits to be sure a message does not arrive.
const quiet = 1500 * time.Millisecond

// tlsWorld is a mosquitto run with the documented configuration: TLS only,
// a listener for kiosks (kiosk CA) and one for the platform (platform CA),
// the documented ACL; and the platform's TLS config.
type tlsWorld struct {
	pki         *brokertest.PKI // the kiosks' CA
	platformPKI *brokertest.PKI // the platform's CA
	broker      *brokertest.Broker
	platformURL string // the platform's listener; broker.URL() is the kiosks'
	platformTLS *tls.Config
}

func newTLSWorld(t *testing.T, pki *brokertest.PKI) *tlsWorld {
	t.Helper()
	brokertest.RequireMosquitto(t)
	dir := t.TempDir()
	if pki == nil {
		pki = newPKI(t, "kiosks")
	}
	w := &tlsWorld{pki: pki, platformPKI: newPKI(t, "platform")}
	srvCert, srvKey, err := pki.Issue("broker", true)
	if err != nil {
		t.Fatal(err)
	}
	acl := filepath.Join(dir, "kioskd.acl")
	if err := os.WriteFile(acl, []byte(documentedACL(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	kioskPort, platformPort := brokertest.FreePort(t), brokertest.FreePort(t)
	conf := documentedConf(t, map[string]string{
		"8883": fmt.Sprintf("%d 127.0.0.1", kioskPort), "8884": fmt.Sprintf("%d 127.0.0.1", platformPort),
		"/etc/mosquitto/ca/kiosk-ca.pem": pki.CAFile, "/etc/mosquitto/ca/platform-ca.pem": w.platformPKI.CAFile,
		"/etc/mosquitto/certs/broker.pem": srvCert, "/etc/mosquitto/certs/broker-key.pem": srvKey,
		"/etc/mosquitto/kioskd.acl": acl,
	})
	w.broker, err = brokertest.Launch(dir, brokertest.Options{NoDelay: true, TLS: &brokertest.TLS{}, Conf: conf, Port: kioskPort,
		Extra: "log_type notice\nlog_type information\n"}) // connections and takeovers, for TestSecurityClientIDTiedToCertificate
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.broker.Stop)
	w.platformURL = fmt.Sprintf("ssl://127.0.0.1:%d", platformPort)
	waitAccepting(t, fmt.Sprintf("127.0.0.1:%d", platformPort)) // brokertest waited for the first listener only
	cert, key, err := w.platformPKI.Issue(platformCN, false)
	if err != nil {
		t.Fatal(err)
	}
	if w.platformTLS, err = brokertest.ClientTLS(pki.CAFile, cert, key); err != nil {
		t.Fatal(err)
	}
	return w
}

func newPKI(t *testing.T, name string) *brokertest.PKI {
	t.Helper()
	pki, err := brokertest.NewPKI(t.TempDir(), name)
	if err != nil {
		t.Fatal(err)
	}
	return pki
}

// issue makes a client certificate for cn.
func (w *tlsWorld) issue(t *testing.T, cn string) (cert, key string) {
	t.Helper()
	cert, key, err := w.pki.Issue(cn, false)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// clientTLS is the TLS config of a client whose certificate has CN cn.
func (w *tlsWorld) clientTLS(t *testing.T, cn string) *tls.Config {
	t.Helper()
	cert, key := w.issue(t, cn)
	tc, err := brokertest.ClientTLS(w.pki.CAFile, cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

// waitAccepting waits, at most 10 s, until addr accepts TCP connections.
func waitAccepting(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("%s not listening within 10s", addr)
}

// connect connects a platform service to the platform's listener.
func (w *tlsWorld) connect(t *testing.T, tc *tls.Config) *brokertest.Client {
	t.Helper()
	c, err := brokertest.ConnectTLS(t, w.platformURL, tc)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	return c
}

// startKiosk starts kioskd as kiosk id over TLS to brokerURL, trusting this
// world's CA and presenting the given certificate (none when cert is "").
func (w *tlsWorld) startKiosk(t *testing.T, brokerURL, id, cert, key string) *kioskProc {
	t.Helper()
	path, httpAddr := simConfig(t, t.TempDir(), brokerURL, func(c *config.Config) {
		c.Kiosk.ID, c.MQTT.ClientID, c.MQTT.AllowPlain = id, id, false
		c.MQTT.CAFile, c.MQTT.CertFile, c.MQTT.KeyFile = w.pki.CAFile, cert, key
	})
	return startKiosk(t, path, httpAddr)
}

// documentedACL is the ```acl block of cloudlink/SECURITY.md.
func documentedACL(t *testing.T) string { t.Helper(); return securityBlock(t, "acl") }

// documentedConf is the ```conf block of cloudlink/SECURITY.md as mosquitto
// runs it here: word for word, without its comments, each word that is a
// key of local (its ports and file paths) replaced by its value.
func documentedConf(t *testing.T, local map[string]string) string {
	t.Helper()
	var conf strings.Builder
	used := map[string]bool{}
	for _, line := range strings.Split(securityBlock(t, "conf"), "\n") {
		line, _, _ = strings.Cut(line, "#")
		fields := strings.Fields(line)
		for i, f := range fields {
			if v, ok := local[f]; ok {
				fields[i], used[f] = v, true
			}
		}
		if len(fields) > 0 {
			conf.WriteString(strings.Join(fields, " ") + "\n")
		}
	}
	for k := range local {
		if !used[k] {
			t.Fatalf("cloudlink/SECURITY.md's conf block no longer has %s", k)
		}
	}
	return conf.String()
}

// securityBlock is the ```kind block of cloudlink/SECURITY.md.
func securityBlock(t *testing.T, kind string) string {
	t.Helper()
	doc, err := os.ReadFile("../cloudlink/SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```"+kind+"\n")
	block, _, closed := strings.Cut(rest, "```")
	if !ok || !closed {
		t.Fatalf("cloudlink/SECURITY.md has no ```%s block", kind)
	}
	return block
}

// TestSecurityKioskOverTLS: a kiosk with a valid certificate works end to
// end through the documented ACL: press → event at the platform, ack →
// delivered, signed accept → accepted.
func TestSecurityKioskOverTLS(t *testing.T) {
	t.Parallel()
	w := newTLSWorld(t, nil)
	plat := newPlatformTLS(t, w.platformURL, w.platformTLS, false)
	cert, key := w.issue(t, "sim-kiosk")
	k := w.startKiosk(t, w.broker.URL(), "sim-kiosk", cert, key)

	k.press("police")
	evs := plat.waitEvents("incident.registered", 10*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.registered")) > 0
	})
	reg := ofType(evs, "incident.registered")[0]
	plat.ack(reg.ID)
	k.waitState("delivered", func(s kioskState) bool {
		return len(s.Incidents) == 1 && s.Incidents[0].Status == "delivered"
	})
	id := plat.command(contract.CmdAccept, contract.AcceptArgs{Incident: reg.Incident, Responder: "王警官"})
	if r := plat.waitReply(id); !r.OK {
		t.Fatalf("accept over TLS: reply %+v, want ok", r)
	}
	k.waitState("accepted", func(s kioskState) bool {
		return len(s.Incidents) == 1 && s.Incidents[0].Status == "accepted"
	})
	if log := k.logText(); strings.Contains(log, "DOES NOT MATCH") {
		t.Errorf("kioskd warned about its certificate:\n%s", log)
	}
}

// TestSecurityACLConfinesKiosk: with another kiosk's certificate a client
// can neither read a kiosk's topics nor get anything onto them. Each
// refused message is followed by one the ACL allows from the same client,
// which arrives: MQTT keeps one client's messages in order, so the refused
// one would have arrived first.
func TestSecurityACLConfinesKiosk(t *testing.T) {
	t.Parallel()
	w := newTLSWorld(t, nil)
	plat := newPlatformTLS(t, w.platformURL, w.platformTLS, false)
	observer := w.connect(t, w.platformTLS)
	allEvents := observer.Subscribe("$share/platform/gongzhi/v1/+/events") // as contract/doc.md advises
	allReplies := observer.Subscribe("gongzhi/v1/+/cmd/reply")
	cert, key := w.issue(t, "sim-kiosk")
	k := w.startKiosk(t, w.broker.URL(), "sim-kiosk", cert, key)

	rogue, err := brokertest.ConnectTLS(t, w.broker.URL(), w.clientTLS(t, "kiosk-b")) // on the kiosks' listener
	if err != nil {
		t.Fatal(err)
	}
	// mosquitto 2.0 grants the SUBSCRIBE and filters each message against the
	// ACL on delivery: what counts is that nothing arrives.
	var stolen []<-chan brokertest.Message
	for _, topic := range []string{"cmd", "ack", "events", "cmd/reply", "#"} {
		ch, _ := rogue.TrySubscribe("gongzhi/v1/sim-kiosk/" + topic)
		stolen = append(stolen, ch)
	}

	// Traffic on sim-kiosk's topics: a call, its ack, a command and its reply.
	k.press("police")
	evs := plat.waitEvents("incident.registered", 10*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.registered")) > 0
	})
	reg := ofType(evs, "incident.registered")[0]
	plat.ack(reg.ID)
	id := plat.command(contract.CmdMessage, contract.MessageArgs{Incident: reg.Incident, From: "城东派出所", Text: "请稍候"})
	if r := plat.waitReply(id); !r.OK {
		t.Fatalf("message: reply %+v, want ok", r)
	}
	for _, ch := range stolen {
		select {
		case m := <-ch:
			t.Errorf("kiosk-b read sim-kiosk's %s: %s", m.Topic, m.Payload)
		case <-time.After(quiet / 5):
		}
	}

	// kiosk-b writes a forged event and command onto sim-kiosk's topics, then
	// the same onto its own: only its own arrive.
	forgedEvent := `{"v":1,"id":"forged-event","kiosk":"sim-kiosk","seq":999,"type":"incident.closed"}`
	rogue.Publish("gongzhi/v1/sim-kiosk/events", []byte(forgedEvent), false)
	rogue.Publish("gongzhi/v1/kiosk-b/events", []byte(`{"v":1,"id":"own-event"}`), false)
	for m := brokertest.Next(t, allEvents, 5*time.Second); m.Topic != "gongzhi/v1/kiosk-b/events"; m = brokertest.Next(t, allEvents, 5*time.Second) {
		if strings.Contains(string(m.Payload), "forged-event") {
			t.Fatalf("kiosk-b's forged event reached the platform: %s", m.Payload)
		}
	}
	forgedCmd, _ := json.Marshal(contract.Command{V: 1, ID: "forged-cmd", Kiosk: "sim-kiosk", Name: contract.CmdClose, Counter: 1 << 62})
	rogue.Publish("gongzhi/v1/sim-kiosk/cmd", forgedCmd, false)
	rogue.Publish("gongzhi/v1/kiosk-b/cmd/reply", []byte(`{"v":1,"command":"own-reply"}`), false)
	for deadline := time.Now().Add(quiet); time.Now().Before(deadline); {
		select {
		case m := <-allReplies:
			if strings.Contains(string(m.Payload), "forged-cmd") {
				t.Fatalf("sim-kiosk answered kiosk-b's forged command: %s", m.Payload)
			}
		case <-time.After(quiet / 10):
		}
	}
	// A forged ack from kiosk-b for sim-kiosk's next call must not deliver it.
	k.press("lawyer")
	evs = plat.waitEvents("the lawyer call", 10*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.registered")) > 1
	})
	lawyer := ofType(evs, "incident.registered")[1]
	ack, _ := json.Marshal(contract.Ack{V: 1, IDs: []string{lawyer.ID}})
	rogue.Publish("gongzhi/v1/sim-kiosk/ack", ack, false)
	time.Sleep(quiet)
	for _, in := range k.state().Incidents {
		if in.ID == lawyer.Incident && in.Delivered {
			t.Errorf("kiosk-b's forged ack delivered sim-kiosk's call")
		}
	}
	if refusals := ofType(plat.received(), "security.command_refused"); len(refusals) > 0 {
		t.Errorf("sim-kiosk refused a command kiosk-b should not have reached it with: %s", refusals[0].Data)
	}
}

// TestSecurityBrokerRefusals: the broker refuses a kiosk without a client
// certificate; the kiosk refuses a broker whose certificate is from another
// CA; a certificate for another kiosk id is warned about at start and gets
// nothing onto this kiosk's topics.
func TestSecurityBrokerRefusals(t *testing.T) {
	t.Parallel()
	w := newTLSWorld(t, nil)
	observer := w.connect(t, w.platformTLS)
	statuses := observer.Subscribe("gongzhi/v1/+/status")

	noCert := w.startKiosk(t, w.broker.URL(), "kiosk-nocert", "", "")
	mismatchCert, mismatchKey := w.issue(t, "kiosk-someone-else")
	mismatch := w.startKiosk(t, w.broker.URL(), "kiosk-mismatch", mismatchCert, mismatchKey)

	// The broker with a certificate from another CA; the kiosk trusts only its own.
	foreign := newTLSWorld(t, newPKI(t, "foreign"))
	foreignObserver := foreign.connect(t, foreign.platformTLS)
	foreignStatuses := foreignObserver.Subscribe("gongzhi/v1/+/status")
	cert, key := w.issue(t, "kiosk-foreign")
	wrongBroker := w.startKiosk(t, foreign.broker.URL(), "kiosk-foreign", cert, key)

	waitLinkError(t, noCert, "certificate required")
	waitLinkError(t, wrongBroker, "certificate signed by unknown authority")
	if log := mismatch.logText(); !strings.Contains(log, "TLS CLIENT CERTIFICATE DOES NOT MATCH THIS KIOSK") {
		t.Errorf("kiosk-mismatch did not warn about its certificate; log:\n%s", log)
	}
	for deadline := time.Now().Add(quiet); time.Now().Before(deadline); {
		select {
		case m := <-statuses:
			t.Errorf("status of a refused kiosk arrived: %s %s", m.Topic, m.Payload)
		case m := <-foreignStatuses:
			t.Errorf("kiosk-foreign talked to a broker it must not trust: %s %s", m.Topic, m.Payload)
		case <-time.After(quiet / 10):
		}
	}
}

// waitLinkError waits until the kiosk's link reports an error containing want.
func waitLinkError(t *testing.T, k *kioskProc, want string) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var v struct {
			Link struct {
				Connected bool   `json:"connected"`
				LastError string `json:"last_error"`
			} `json:"link"`
		}
		if resp, err := http.Get(k.http + "/api/state"); err == nil {
			json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
		}
		if v.Link.Connected {
			t.Fatalf("%s: link connected, want refused", k.cfgPath)
		}
		if last = v.Link.LastError; strings.Contains(last, want) {
			return
		}
	}
	t.Fatalf("link error never contained %q; last %q", want, last)
}

// TestSecurityClientIDTiedToCertificate: with the documented mosquitto
// configuration, kiosk-a's certificate asking for sim-kiosk's client id
// connects as kiosk-a, again and again, and sim-kiosk keeps its one session:
// it stays connected, never reconnects, and keeps publishing and receiving.
func TestSecurityClientIDTiedToCertificate(t *testing.T) {
	t.Parallel()
	w := newTLSWorld(t, nil)
	plat := newPlatformTLS(t, w.platformURL, w.platformTLS, true)
	observer := w.connect(t, w.platformTLS)
	statuses := observer.Subscribe("gongzhi/v1/+/status")
	cert, key := w.issue(t, "sim-kiosk")
	k := w.startKiosk(t, w.broker.URL(), "sim-kiosk", cert, key)
	k.press("police")
	plat.waitEvents("the police call", 10*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.registered")) == 1
	})

	kioskA := w.clientTLS(t, "kiosk-a")
	for i := range 3 {
		c, err := brokertest.ConnectTLSAs(t, w.broker.URL(), kioskA, "sim-kiosk")
		if err != nil {
			t.Fatalf("attempt %d: kiosk-a's certificate as client id sim-kiosk: %v, want it connected (as kiosk-a)", i, err)
		}
		// The ACL lets it write its own status: it is kiosk-a to the broker.
		c.Publish("gongzhi/v1/kiosk-a/status", []byte(`{"v":1,"kiosk":"kiosk-a","state":"online","boot_epoch":1}`), false)
		for m := brokertest.Next(t, statuses, 5*time.Second); m.Topic != "gongzhi/v1/kiosk-a/status"; m = brokertest.Next(t, statuses, 5*time.Second) {
			if strings.Contains(string(m.Payload), `"offline"`) {
				t.Fatalf("attempt %d: sim-kiosk's last will fired: its session was closed", i)
			}
		}
	}
	time.Sleep(quiet)

	k.press("lawyer") // sim-kiosk still publishes...
	evs := plat.waitEvents("the lawyer call", 10*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.registered")) == 2
	})
	lawyer := ofType(evs, "incident.registered")[1]
	id := plat.command(contract.CmdAccept, contract.AcceptArgs{Incident: lawyer.Incident, Responder: "王律师"})
	if r := plat.waitReply(id); !r.OK { // ...and receives
		t.Fatalf("accept after the attempts: %+v, want ok", r)
	}
	if st := linkStatus(t, k); !st.Connected || st.Reconnects != 0 {
		t.Errorf("sim-kiosk's link: connected %v, reconnects %d; want connected, never reconnected", st.Connected, st.Reconnects)
	}
	log, err := os.ReadFile(w.broker.LogFile())
	if err != nil {
		t.Fatal(err)
	}
	// (kiosk-a's connections do replace one another: one identity, one session.)
	if strings.Contains(string(log), "Client sim-kiosk already connected") {
		t.Errorf("mosquitto closed sim-kiosk's session for a duplicate client id:\n%s", log)
	}
	if n := strings.Count(string(log), " as kiosk-a "); n != 3 {
		t.Errorf("mosquitto saw %d connections as kiosk-a, want 3:\n%s", n, log)
	}
}

type linkState struct {
	Connected  bool `json:"connected"`
	Reconnects int  `json:"reconnects"`
}

// linkStatus is the kiosk's link as /api/state shows it.
func linkStatus(t *testing.T, k *kioskProc) linkState {
	t.Helper()
	var v struct {
		Link linkState `json:"link"`
	}
	resp, err := http.Get(k.http + "/api/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.Link
}
