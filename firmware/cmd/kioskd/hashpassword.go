package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"kioskd/kiosk/screen/guardauth/passwordhash"
)

// minPasswordRunes is the shortest guard password hash-password accepts.
const minPasswordRunes = 10

// hashPassword is `kioskd hash-password`: it reads a guard's password (twice,
// without echo, from a terminal; else one line from stdin) and prints its
// argon2id hash for a [[guard.user]] password_hash.
func hashPassword(in *os.File, out, msg io.Writer) error {
	var password string
	if isTerminal(in) {
		first, err := readSecretLine(in, msg, "Guard's password: ")
		if err != nil {
			return err
		}
		again, err := readSecretLine(in, msg, "Again: ")
		if err != nil {
			return err
		}
		if first != again {
			return errors.New("hash-password: the two passwords differ; nothing was printed")
		}
		password = first
	} else {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("hash-password: read stdin: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	if utf8.RuneCountInString(password) < minPasswordRunes {
		return fmt.Errorf("hash-password: a guard's password needs at least %d characters", minPasswordRunes)
	}
	hash, err := passwordhash.New(password)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, hash)
	fmt.Fprintln(msg, "Put it in the config, for example:\n\n[[guard.user]]\nname = \"张伟\"\npassword_hash = \""+hash+"\"")
	return nil
}

// readSecretLine prompts on msg and reads one line from the terminal in
// with its echo off.
func readSecretLine(in *os.File, msg io.Writer, prompt string) (string, error) {
	fmt.Fprint(msg, prompt)
	restore, err := echoOff(in)
	if err != nil {
		return "", fmt.Errorf("hash-password: turn the terminal's echo off: %w", err)
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	restore()
	fmt.Fprintln(msg)
	if err != nil {
		return "", fmt.Errorf("hash-password: read the password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
