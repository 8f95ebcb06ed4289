package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestLogRotates: the log is rotated by size, and only the newest backups
// are kept (issue 11, item 21).
func TestLogRotates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "server.log")
	log, err := openLog(path, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	line := append(bytes.Repeat([]byte("x"), 1023), '\n')
	for range 4 * 1024 { // 4 MiB through a 1 MB log: several rotations
		if _, err := log.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	// lumberjack prunes old backups in a goroutine of its own: wait (with
	// a deadline) until it has.
	var entries []os.DirEntry
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var err error
		if entries, err = os.ReadDir(dir); err != nil {
			t.Fatal(err)
		}
		if len(entries) <= 3 || time.Now().After(deadline) {
			break
		}
	}
	if len(entries) != 3 { // server.log and two backups
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("log files %q, want server.log and 2 backups", names)
	}
	for _, e := range entries {
		info, _ := e.Info()
		if info.Size() > 1<<20 {
			t.Errorf("%s is %d bytes, over the 1 MB limit", e.Name(), info.Size())
		}
	}
}
