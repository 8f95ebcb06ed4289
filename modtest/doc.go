// Package modtest proves that framechat can be depended on as any Go
// module is. It has no API: its tests build a module proxy from this
// repository (package internal/proxy), check that every nested module's
// go.mod is tidy against the versions it pins, and, from a module outside
// the repository, go get the root and natsbus, build the README's
// embedding program and a two-hub NATS program, and go install the server
// command. Command pin (go run ./modtest/pin) moves the pins forward.
package modtest
