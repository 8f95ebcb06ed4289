package main

import (
	"fmt"
	"io"

	"gopkg.in/natefinch/lumberjack.v2"
)

// openLog returns the event log: the file at path, rotated when it passes
// maxMB megabytes (the old one is renamed with a timestamp and a new one
// started), keeping the newest backups old files. The file is created now,
// so that an operator sees it (and a path that cannot be written fails)
// at start rather than at the first event. Rotation is
// gopkg.in/natefinch/lumberjack.v2's: well kept, and it gets the renaming,
// the pruning and the crash-safe reopening right.
func openLog(path string, maxMB, backups int) (io.WriteCloser, error) {
	l := &lumberjack.Logger{Filename: path, MaxSize: maxMB, MaxBackups: backups}
	if _, err := l.Write(nil); err != nil { // lumberjack opens (creates) the file on its first write
		return nil, fmt.Errorf("log: %w", err)
	}
	return l, nil
}
