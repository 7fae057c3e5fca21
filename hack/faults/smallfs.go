package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const smallFSSize = "16m"

// smallFS is a directory whose filesystem the harness can fill: a tmpfs, a
// loop-mounted ext4 image, or, where mounting is not allowed, a plain
// directory where only the journal's own size cap can run out.
type smallFS struct {
	dir       string
	mechanism string
	capOnly   bool
	mounted   bool
}

// mountSmallFS tries mode ("auto": tmpfs, then loop ext4, then the cap).
func mountSmallFS(tmp, mode string) (*smallFS, error) {
	dir, err := os.MkdirTemp(tmp, "smallfs-")
	if err != nil {
		return nil, err
	}
	fs := &smallFS{dir: dir}
	var why []string
	if mode == "auto" || mode == "tmpfs" {
		opts := fmt.Sprintf("size=%s,mode=0700,uid=%d,gid=%d", smallFSSize, os.Geteuid(), os.Getegid())
		err := runCmd(asRoot("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir)...)
		if err == nil {
			fs.mechanism, fs.mounted = "tmpfs of 16 MiB (mount -t tmpfs -o size="+smallFSSize+")", true
			return fs, nil
		}
		why = append(why, "tmpfs: "+err.Error())
	}
	if mode == "auto" || mode == "loop" {
		err := mountLoop(tmp, dir)
		if err == nil {
			fs.mechanism, fs.mounted = "loop-mounted ext4 image of 16 MiB", true
			return fs, nil
		}
		why = append(why, "loop ext4: "+err.Error())
	}
	if mode != "auto" && mode != "cap" {
		return nil, fmt.Errorf("-fs %s: %s", mode, strings.Join(why, "; "))
	}
	fs.capOnly = true
	fs.mechanism = "journal.max_size cap only, no small filesystem"
	if len(why) > 0 {
		fs.mechanism += " (" + strings.Join(why, "; ") + ")"
	}
	return fs, nil
}

func mountLoop(tmp, dir string) error {
	img := filepath.Join(tmp, "smallfs.img")
	f, err := os.Create(img)
	if err != nil {
		return err
	}
	err = f.Truncate(16 << 20)
	f.Close()
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root")
	}
	if err := runCmd("mkfs.ext4", "-q", "-F", "-m", "0", img); err != nil {
		return err
	}
	return runCmd("mount", "-o", "loop", img, dir)
}

func (fs *smallFS) unmount() {
	if fs.mounted && runCmd(asRoot("umount", fs.dir)...) != nil {
		_ = runCmd(asRoot("umount", "-l", fs.dir)...)
	}
	_ = os.RemoveAll(fs.dir)
}

// fill writes a ballast file until the filesystem is full and returns its size.
func (fs *smallFS) fill() (int64, error) {
	f, err := os.Create(fs.ballast())
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n int64
	for _, size := range []int{1 << 20, 64 << 10, 4 << 10} {
		buf := make([]byte, size)
		for i := range buf {
			buf[i] = byte(i) // not zeros: no filesystem may store them sparsely
		}
		for {
			w, err := f.Write(buf)
			n += int64(w)
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			if err != nil {
				return n, err
			}
		}
	}
	return n, f.Sync()
}

// empty removes the ballast.
func (fs *smallFS) empty() error { return os.Remove(fs.ballast()) }

func (fs *smallFS) ballast() string { return filepath.Join(fs.dir, "ballast") }

// asRoot prefixes a command with "sudo -n" when not root: a tmpfs mount
// then works where sudo needs no password, and fails at once elsewhere.
func asRoot(args ...string) []string {
	if os.Geteuid() == 0 {
		return args
	}
	return append([]string{"sudo", "-n"}, args...)
}

// runCmd runs a command with a time limit and returns its output in the error.
func runCmd(args ...string) error {
	name := args[0]
	args = args[1:]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}
