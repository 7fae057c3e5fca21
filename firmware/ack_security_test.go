package firmware

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kioskd/cloudlink"
	"kioskd/cloudlink/contract"
	"kioskd/firmware/commands"
	"kioskd/firmware/config"
	"kioskd/kiosk"
)

// writeKey writes a new public key into dir and returns its path and key.
func writeKey(t *testing.T, dir, name string) (string, []byte) {
	t.Helper()
	pub, _, err := contract.GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	k, _ := contract.ParsePublicKeyPEM(pub)
	return path, k
}

// The ack keys are acks.public_key_files, or else the command keys; a key
// that cannot be read stops the start, naming the config key.
func TestLinkAckKeys(t *testing.T) {
	dir := t.TempDir()
	cmdPath, cmdKey := writeKey(t, dir, "cmd.pem")
	ackPath, ackKey := writeKey(t, dir, "ack.pem")
	log := slog.New(slog.DiscardHandler)
	cfg := config.Sim(dir)
	cfg.Commands.PublicKeyFiles = []string{cmdPath}
	var lc cloudlink.Config
	if _, err := linkSecurity(cfg, &lc, log); err != nil || len(lc.AckKeys) != 1 || string(lc.AckKeys[0]) != string(cmdKey) {
		t.Errorf("no acks.public_key_files: ack keys %d (%v), want the command key", len(lc.AckKeys), err)
	}
	cfg.Acks.PublicKeyFiles = []string{ackPath}
	commandKeys, err := linkSecurity(cfg, &lc, log)
	if err != nil || len(lc.AckKeys) != 1 || string(lc.AckKeys[0]) != string(ackKey) {
		t.Errorf("acks.public_key_files set: ack keys %d (%v), want only the ack key", len(lc.AckKeys), err)
	}
	if len(commandKeys) != 1 || string(commandKeys[0]) != string(cmdKey) {
		t.Errorf("command keys changed by the ack keys")
	}
	cfg.Acks.PublicKeyFiles = []string{filepath.Join(dir, "missing.pem")}
	if _, err := linkSecurity(cfg, &lc, log); err == nil || !strings.Contains(err.Error(), "acks.public_key_files") {
		t.Errorf("missing ack key: %v, want an error naming acks.public_key_files", err)
	}
}

// A flood of refused acks journals at most commands.RefusalsPerMinute security events.
func TestBridgeJournalsAckRefusals(t *testing.T) {
	tb := newTestBridge(t)
	tb.ackRefusals.What = "acks"
	a := contract.Ack{Kiosk: "sec-kiosk", BootEpoch: 1, IDs: []string{"a", "b"}}
	for range commands.RefusalsPerMinute + 10 {
		tb.AckRefused(context.Background(), a, &contract.AckError{Code: contract.AckBadSignature, Message: "no key verifies"})
	}
	evs, err := tb.journal.Pending(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	for _, ev := range evs {
		if ev.Type == kiosk.EvAckRefused {
			var d map[string]any
			json.Unmarshal(ev.Data, &d)
			got = append(got, d)
		}
	}
	if len(got) != commands.RefusalsPerMinute {
		t.Fatalf("%d refusals journaled, want %d", len(got), commands.RefusalsPerMinute)
	}
	if d := got[0]; d["code"] != "bad_signature" || d["addressed_to"] != "sec-kiosk" || d["boot_epoch"] != float64(1) || d["id_count"] != float64(2) {
		t.Errorf("refusal event data %v", d)
	}
}
