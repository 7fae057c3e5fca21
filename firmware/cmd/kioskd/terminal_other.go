//go:build !linux

package main

import "os"

// Off Linux, hash-password reads the password from stdin as a plain line.
func isTerminal(*os.File) bool { return false }

func echoOff(*os.File) (func(), error) { return func() {}, nil }
