package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"kioskd/cloudlink/contract"
)

// signAck is the sign-ack subcommand: it prints a signed ack, to publish by
// hand while playing the platform:
//
//	mosquitto_pub -h 127.0.0.1 -t gongzhi/v1/sim-kiosk/ack -m "$(go run ./hack/station sign-ack -key station.key -kiosk sim-kiosk EVENT_ID)"
//
// Without -boot it reads the kiosk's boot epoch from its retained status on
// -broker.
func signAck(args []string) error {
	fs := flag.NewFlagSet("sign-ack", flag.ContinueOnError)
	keyFile := fs.String("key", "station.key", "Ed25519 private key (PEM) the kiosk trusts")
	kiosk := fs.String("kiosk", "sim-kiosk", "the kiosk whose events are acked")
	boot := fs.Uint64("boot", 0, "the kiosk's current boot epoch (0: read its retained status from -broker)")
	broker := fs.String("broker", "tcp://127.0.0.1:1883", "MQTT broker, to read the kiosk's status")
	root := fs.String("root", contract.DefaultRoot, "the kiosks' topic root template")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("sign-ack: name the event ids to ack")
	}
	b, err := os.ReadFile(*keyFile)
	if err != nil {
		return fmt.Errorf("sign-ack: %w", err)
	}
	key, err := contract.ParsePrivateKeyPEM(b)
	if err != nil {
		return fmt.Errorf("sign-ack: %s: %w", *keyFile, err)
	}
	if *boot == 0 {
		if *boot, err = readBoot(*broker, *root, *kiosk); err != nil {
			return fmt.Errorf("sign-ack: %w", err)
		}
	}
	msg, err := contract.SignAck(key, contract.Ack{Kiosk: *kiosk, BootEpoch: *boot, IDs: fs.Args()})
	if err != nil {
		return err
	}
	fmt.Println(string(msg))
	return nil
}

// readBoot reads the boot epoch of the kiosk's retained status, waiting at
// most 5 s for it.
func readBoot(broker, root, kiosk string) (uint64, error) {
	topics, err := contract.NewTopics(root, kiosk)
	if err != nil {
		return 0, err
	}
	const wait = 5 * time.Second
	id := fmt.Sprintf("station-sign-ack-%d", os.Getpid())
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(true).
		SetAutoReconnect(false).SetConnectTimeout(wait))
	if tok := c.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
		return 0, fmt.Errorf("connect %s: %v (or give -boot)", broker, tok.Error())
	}
	defer c.Disconnect(100)
	var boots contract.BootEpochs
	seen := make(chan struct{}, 1)
	tok := c.Subscribe(topics.Status(), 1, func(_ mqtt.Client, m mqtt.Message) {
		boots.SeeRetained(m.Payload())
		select {
		case seen <- struct{}{}:
		default:
		}
	})
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		return 0, fmt.Errorf("subscribe %s: %v", topics.Status(), tok.Error())
	}
	select {
	case <-seen:
	case <-time.After(wait):
	}
	if b := boots.Of(kiosk); b != 0 {
		return b, nil
	}
	return 0, fmt.Errorf("no status of kiosk %q on %s within %v (give -boot)", kiosk, broker, wait)
}
