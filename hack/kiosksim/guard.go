package main

import (
	"crypto/rand"
	"fmt"

	"kioskd/firmware/config"
	"kioskd/kiosk/screen/guardauth/passwordhash"
)

// simGuardName is the one guard of the simulation.
const simGuardName = "guard"

// simGuard turns the guard console on at addr with one guard whose password
// is made afresh at every start and printed: the simulation never ships a
// known password.
func simGuard(cfg *config.Config, addr string) error {
	if addr == "" {
		return nil
	}
	password := rand.Text()[:12]
	hash, err := passwordhash.New(password)
	if err != nil {
		return err
	}
	cfg.Guard.Listen = addr
	cfg.Guard.Users = []config.GuardUser{{Name: simGuardName, PasswordHash: hash}}
	fmt.Printf("kiosksim: guard console http://%s/guard   (log in as %q, password %s)\n", addr, simGuardName, password)
	return nil
}
