package main

import (
	"io"

	"gopkg.in/natefinch/lumberjack.v2"
)

// openLog returns the event log: the file at path, rotated when it passes
// maxMB megabytes (the old one is renamed with a timestamp and a new one
// started), keeping the newest backups old files. Rotation is
// gopkg.in/natefinch/lumberjack.v2's: well kept, and it gets the renaming,
// the pruning and the crash-safe reopening right.
func openLog(path string, maxMB, backups int) io.WriteCloser {
	return &lumberjack.Logger{Filename: path, MaxSize: maxMB, MaxBackups: backups}
}
