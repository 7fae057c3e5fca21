// Package sim provides simulated kiosk devices for the sim mode and for
// tests: call buttons and a tamper switch driven by method calls or over
// HTTP, and indicators that record what they were told to show. Simulated
// buttons go through the same press detector as real ones, so debounce, long
// press and stuck buttons behave as they do on the hardware.
package sim

// maxQueued bounds the changes an input keeps for its Run loop, so that a
// sim API caller cannot grow memory without end while Run is not running.
// The oldest are dropped first; the latest level always survives.
const maxQueued = 256
