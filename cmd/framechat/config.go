package main

import (
	"errors"
	"flag"
	"fmt"

	"sort"
	"strconv"
	"time"

	"github.com/BurntSushi/toml"
)

// ErrUnknownKey is the error of a config file key that names no flag.
var ErrUnknownKey = errors.New("unknown key")

// loadConfig sets the flags of fs that the command line did not set from
// the TOML file at path: each key is a flag's name, its value the flag's
// value (a string, number or boolean; durations as strings such as "10s").
// A key that names no flag, or that names -config or -version, is an
// error wrapping ErrUnknownKey.
//
// TOML, read with github.com/BurntSushi/toml: a format made for config
// files (comments, no indentation rules), and a small, long-kept library
// with no dependencies of its own.
func loadConfig(fs *flag.FlagSet, path string) error {
	var m map[string]any
	if _, err := toml.DecodeFile(path, &m); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the first bad key is the same each time
	for _, k := range keys {
		if fs.Lookup(k) == nil || k == "config" || k == "version" {
			return fmt.Errorf("config %s: %w %q (keys are the flags' names, such as max-conns)", path, ErrUnknownKey, k)
		}
		if set[k] {
			continue // the command line wins
		}
		var s string
		switch v := m[k].(type) {
		case string:
			s = v
		case bool:
			s = strconv.FormatBool(v)
		case int64:
			s = strconv.FormatInt(v, 10)
		case float64:
			s = strconv.FormatFloat(v, 'g', -1, 64)
		case time.Duration:
			s = v.String()
		default:
			return fmt.Errorf("config %s: %s: want a string, number or boolean, not %T", path, k, v)
		}
		if err := fs.Set(k, s); err != nil {
			return fmt.Errorf("config %s: %s: %w", path, k, err)
		}
	}
	return nil
}
