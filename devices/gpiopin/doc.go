// Package gpiopin drives the kiosk's call buttons, tamper switch, LEDs and
// strobe relay on GPIO pins through periph.io. It is the only package that
// imports periph; everything above it sees devices.Input and
// devices.Indicator. Inputs wait for edges with a short timeout and read the
// level after every wake, so a missed edge costs at most one poll interval,
// never a press.
package gpiopin
