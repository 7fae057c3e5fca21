package config

// Sim returns a ready config for the simulation mode: simulated devices, the
// five call buttons, a tamper switch, an LED and a strobe relay, a broker on
// localhost. stateDir must be an absolute path.
func Sim(stateDir string) *Config {
	c := &Config{
		Version: CurrentVersion,
		Kiosk:   Kiosk{ID: "sim-kiosk", StateDir: stateDir},
		HTTP:    HTTP{Listen: "127.0.0.1:8080"},
		MQTT:    MQTT{Broker: "tcp://127.0.0.1:1883", AllowPlain: true}, // a local lab broker
		Relay:   Relay{Listen: new(string)},
		Devices: Devices{Driver: "sim"},
		// Pins are not needed by the sim driver; they are set so the same
		// config also works with GPIO faked at the pin level.
		Tamper: &Tamper{Pin: "GPIO25"},
		Indicators: []Indicator{
			{Name: "led", Pin: "GPIO5", Kind: "led"},
			{Name: "strobe", Pin: "GPIO6", Kind: "relay"},
		},
	}
	pins := []string{"GPIO17", "GPIO27", "GPIO22", "GPIO23", "GPIO24"}
	for i, r := range requestTypes {
		c.Buttons = append(c.Buttons, Button{Name: r, Request: r, Pin: pins[i]})
	}
	*c.Relay.Listen = "127.0.0.1:8554" // the live relay on loopback only
	c.applyDefaults()
	return c
}
