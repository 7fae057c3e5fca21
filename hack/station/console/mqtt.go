package console

import (
	"context"
	"fmt"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

const mqttTimeout = 10 * time.Second

// Leaf topics the station reads.
const (
	leafEvents    = "events"
	leafStatus    = "status"
	leafHeartbeat = "heartbeat"
	leafState     = "state"
	leafReplies   = "cmd/reply"
	leafCameras   = "cameras"
)

// connect opens one paho connection that reconnects by itself; onConnect
// runs after every (re)connect, to subscribe again.
func (c *Console) connect(ctx context.Context, role string, onConnect mqtt.OnConnectHandler) (mqtt.Client, error) {
	opts := mqtt.NewClientOptions().AddBroker(c.cfg.Broker).
		SetClientID(c.cfg.ClientID + "-" + role).
		SetCleanSession(true). // the kiosks re-send what we did not ack; no broker session needed
		SetAutoReconnect(true).SetConnectRetry(true).
		SetMaxReconnectInterval(5 * time.Second).
		SetConnectTimeout(mqttTimeout).SetWriteTimeout(mqttTimeout).
		SetKeepAlive(30 * time.Second).SetPingTimeout(10 * time.Second).
		// In order: a kiosk's state and heartbeat replace the previous ones,
		// so they must not overtake each other. The handlers are short.
		SetOrderMatters(true).
		SetOnConnectHandler(onConnect).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			if role == "sub" {
				c.subscribed.Store(false)
			}
			c.log.Warn("station: broker connection lost; reconnecting", "role", role, "err", err)
			c.changed()
		})
	if c.cfg.Username != "" {
		opts.SetUsername(c.cfg.Username).SetPassword(c.cfg.Password)
	}
	client := mqtt.NewClient(opts)
	tok := client.Connect() // with ConnectRetry it completes once connected
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return nil, fmt.Errorf("connect %s (%s): %w", c.cfg.Broker, role, err)
		}
	case <-ctx.Done():
		client.Disconnect(0)
		return nil, ctx.Err()
	}
	return client, nil
}

// subscribeAll subscribes the receiving connection. Events go through a
// shared subscription so that several station instances split them. The
// retained topics cannot: brokers do not send retained messages to shared
// subscriptions (MQTT 5, 4.8.2), and every instance needs the last status,
// heartbeat, state and cameras of every kiosk anyway. Replies are not shared either:
// each instance must see the replies to the commands it sent itself.
func (c *Console) subscribeAll(client mqtt.Client) {
	subs := []struct {
		filter  string
		handler mqtt.MessageHandler
	}{
		// Status and heartbeat before events: acks name the boot they carry.
		{c.root.filter(leafStatus), onRetained(c, leafStatus, c.keepStatus)},
		{c.root.filter(leafHeartbeat), onRetained(c, leafHeartbeat, c.keepHeartbeat)},
		{"$share/" + c.cfg.Group + "/" + c.root.filter(leafEvents), c.onEvent},
		{c.root.filter(leafState), onRetained(c, leafState, keepState)},
		{c.root.filter(leafCameras), onRetained(c, leafCameras, keepCameras)},
		{c.root.filter(leafReplies), c.onReply},
	}
	for _, s := range subs {
		tok := client.Subscribe(s.filter, 1, s.handler)
		if !tok.WaitTimeout(mqttTimeout) || tok.Error() != nil {
			c.log.Error("station: subscribe failed; dropping the connection to retry", "filter", s.filter, "err", tok.Error())
			go client.Disconnect(0) // not from inside paho's callback
			return
		}
	}
	c.subscribed.Store(true)
	c.log.Info("station: subscribed", "events", subs[2].filter)
	c.changed()
}

// publish sends one QoS 1 message on the publishing connection and waits
// for the broker's PUBACK.
func (c *Console) publish(topic string, payload []byte) error {
	pub := c.pub.Load()
	if pub == nil {
		return fmt.Errorf("publish %s: not connected yet", topic)
	}
	tok := (*pub).Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(mqttTimeout) {
		return fmt.Errorf("publish %s: no PUBACK within %v", topic, mqttTimeout)
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	return nil
}

// Connected reports whether both connections are up and subscribed.
func (c *Console) Connected() bool {
	sub, pub := c.sub.Load(), c.pub.Load()
	return c.subscribed.Load() && sub != nil && pub != nil && (*sub).IsConnectionOpen() && (*pub).IsConnectionOpen()
}
