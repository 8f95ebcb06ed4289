package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	chat "github.com/framechat/chat"
	"github.com/framechat/chat/history"
	"github.com/framechat/chat/history/bolt"
)

// historyOptions are the flags of the rooms' history: whether it is kept,
// its bounds, and the course protocols' replay on join.
type historyOptions struct {
	off       bool
	limits    history.Limits
	replay    int
	file      string      // -history-file: the bbolt file, "" for memory
	store     *bolt.Store // the file's Store, once configure opened it
	jetstream bool        // on a cluster, keep it in the cluster's JetStream
}

// flags defines the history's flags on fs.
func (h *historyOptions) flags(fs *flag.FlagSet) {
	fs.BoolVar(&h.off, "no-history", false, "keep no history of the rooms (IRC's CHATHISTORY, the web page's scrollback and -replay then have none)")
	fs.IntVar(&h.limits.PerRoom, "history-lines", 0, "lines of history kept per room, the oldest dropped first (0: 1,000; -1: no limit)")
	fs.DurationVar(&h.limits.MaxAge, "history-age", 0, "drop lines of history older than this (0: 24h; -1ns: never)")
	fs.Int64Var(&h.limits.MaxBytes, "history-bytes", 0, "bytes of history kept in all rooms together, the oldest line of any room dropped first (0: 64 MiB; -1: no limit)")
	fs.StringVar(&h.file, "history-file", "", "keep the history in this file (bbolt), across restarts, rather than in memory; a crash loses only the lines not yet written: one group commit, every 10ms")
	fs.BoolVar(&h.jetstream, "history-jetstream", true, "with -nats: keep the history in the cluster's JetStream (the stream framechat_history, its bounds the -history flags), shared by every server; false keeps none on a cluster")
	fs.IntVar(&h.replay, "replay", 0, "send a cs168, im or lobby client joining a room the room's last lines, as ordinary lines (0: none, as the course protocols say)")
}

// configure sets cfg's history from the flags: a Store in this server's
// memory, or in the file of -history-file, bounded by the limits, unless
// -no-history, or on a cluster (nats), where one server's store would
// hold only the lines said through it: there the Store is the cluster's
// (set in cfg.History already, with -history-jetstream), or none. It
// returns what it chose, for the operator, or why the flags cannot be
// followed; close closes the file.
func (h *historyOptions) configure(cfg *chat.Config, nats bool) (string, error) {
	cfg.Replay = h.replay
	switch {
	case h.file != "" && (h.off || nats):
		return "", errors.New("-history-file keeps one server's history: not with -no-history, nor on a cluster (-nats)")
	case h.off:
		cfg.NoHistory = true
		return "history off (-no-history)", nil
	case nats && cfg.History != nil:
		return "history kept in the cluster's JetStream", nil
	case nats:
		cfg.NoHistory = true
		return "history off: a cluster keeps none without -history-jetstream", nil
	case h.file != "":
		s, err := bolt.Open(h.file, h.limits, bolt.Options{})
		if err != nil {
			return "", err
		}
		h.store, cfg.History = s, s
		return "history kept in " + h.file, nil
	}
	cfg.History = history.NewMemory(h.limits)
	return "history kept in memory", nil
}

// close closes the history file, if configure opened one, once the hub
// has shut down: it writes the lines still waiting. It reports a failure
// to out.
func (h *historyOptions) close(out io.Writer) {
	if h.store == nil {
		return
	}
	if err := h.store.Close(); err != nil {
		fmt.Fprintln(out, err)
	}
}

// historyHandler serves the admin's /history: DELETE (or POST)
// /history?room=NAME forgets the room's history (Hub.DeleteHistory),
// answering 204 No Content.
type historyHandler struct{ hub *chat.Hub }

func (h historyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodDelete && r.Method != http.MethodPost {
		w.Header().Set("Allow", "DELETE, POST")
		http.Error(w, "use DELETE /history?room=NAME", http.StatusMethodNotAllowed)
		return
	}
	room := r.URL.Query().Get("room")
	if room == "" {
		http.Error(w, "name the room: /history?room=NAME", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	err := h.hub.DeleteHistory(ctx, room)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, chat.ErrInvalidName), errors.Is(err, chat.ErrNoSuchRoom):
		http.Error(w, err.Error(), http.StatusBadRequest)
	case errors.Is(err, chat.ErrNoHistory):
		http.Error(w, err.Error(), http.StatusNotFound)
	default:
		http.Error(w, fmt.Sprintf("delete the history of %q: %v", room, err), http.StatusInternalServerError)
	}
}

// historySizer is a Store that can say cheaply how much it keeps
// (history.Memory, bolt.Store).
type historySizer interface {
	Size() (lines int, bytes int64)
}
