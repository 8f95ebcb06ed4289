package chat

import "slices"

// command is one entry of a course protocol's command table. The three
// protocols keep their commands in tables of this one shape, so that each
// protocol's commands, their usage and the state they need are read in one
// place: the table.
type command[S any] struct {
	name    string          // the command word, such as "/join"
	aliases []string        // other words for it
	usage   string          // how to use it (im's /help); cs168's reply when the argument is missing
	help    string          // what it does (im's /help)
	ready   func(s *S) bool // whether the session's state allows it; nil means always
	run     func(s *S, arg string) (more bool)
}

// lookup returns the command of table called word, or nil.
func lookup[S any](table []command[S], word string) *command[S] {
	for i := range table {
		if c := &table[i]; c.name == word || slices.Contains(c.aliases, word) {
			return c
		}
	}
	return nil
}
