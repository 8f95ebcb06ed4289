// Command framechat runs a framechat hub: one set of rooms, served in any
// of the protocols on their own listeners.
//
//	framechat [flags] [PORT]
//
// PORT serves cs168 on every address of the machine (or -addr). -cs168,
// -im, -lobby, -line and -irc take a listen address each, such as :12000,
// and may be combined: `framechat -cs168 :55555 -im :12000 -irc :6667`.
// -http serves the web client: the page at /, which speaks webchat's JSON
// at /chat, and cs168 over WebSocket at /ws for the course. The server prints where each connection
// comes from, logs every event to server.log (or -log FILE; -log "" turns
// it off), and stops cleanly on Ctrl-C or SIGTERM.
//
// With -nats URL the server joins a cluster: every server started with the
// same NATS (and JetStream) serves one chat, so clients connected to
// different servers share channels, names and lists (package natsbus).
//
// -config FILE reads the flags from a TOML file, one key per flag by the
// flag's name (`max-conns = 500`, `tls-cert = "cert.pem"`, durations as
// strings: `idle-timeout = "10m"`); a flag given on the command line wins
// over the file, and a key that names no flag is an error.
//
// -admin ADDR serves, for the operator: /healthz (200 "ok" when every
// listener is up and the cluster, if any, is connected; 503 with the
// reason otherwise), /metrics (Prometheus text format), /debug/pprof/,
// and /history: `curl -X DELETE 'http://127.0.0.1:9090/history?room=lab'`
// forgets the history of the room lab (204 No Content; POST does the
// same). It is off by default; give it a loopback address such as
// 127.0.0.1:9090, since it is not authenticated.
//
// The server keeps each room's last lines in memory (a room's 1,000 lines
// of the last 24 hours, 64 MiB in all: -history-lines, -history-age,
// -history-bytes; -no-history keeps none), for IRC's CHATHISTORY and the
// web page's scrollback; it is lost when the server stops, unless
// -history-file PATH keeps it in that file (bbolt; one server at a time).
// A restart keeps it; a crash loses only the lines not yet written, those
// of the last group commit (one every 10ms, more if the disk falls
// behind), and never corrupts the file. On a cluster (-nats) it is kept
// in the cluster's JetStream instead, with the same bounds, so that every
// server serves the same history and it outlives them
// (-history-jetstream=false keeps none). -replay N sends a cs168, im or
// lobby client joining a room the room's last N lines, as ordinary lines;
// the course protocols say nothing of lines said before a join, so it is
// off by default. An IRC client gets a channel's last 25 lines as it
// joins (-irc-playback N; 0 for none), with their times if it shows IRCv3
// server-time, unless it fetches them itself with CHATHISTORY (at most
// -irc-history-limit lines a command, 100 by default).
// -irc-opers NAME:PASSWORD[,NAME:PASSWORD] (config key irc-opers, where a
// password is better kept than on the command line) lists the IRC
// operators, whom OPER makes operators, who may KILL IRC users.
//
// -tls-self-signed makes a certificate in memory for 127.0.0.1, ::1 and
// localhost, for trying TLS without openssl; the server prints its SHA-256
// fingerprint and, with -tls-cert FILE, writes it there (PEM) for clients
// to trust.
//
// -version prints the version the binary was built from.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	chat "github.com/framechat/chat"
	"github.com/framechat/chat/examples/linechat"
	"github.com/framechat/chat/im"
	"github.com/framechat/chat/internal/version"
	"github.com/framechat/chat/irc"
	"github.com/framechat/chat/lobby"
	"github.com/framechat/chat/natsbus"
	"github.com/framechat/chat/web"
	"github.com/framechat/chat/webchat"
	"github.com/framechat/chat/ws"
	"golang.org/x/sync/errgroup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := realMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// realMain runs the command with args, printing to stdout and stderr, until
// ctx is done, and returns the exit code: 2 for a usage error, 1 for a
// failure.
func realMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "framechat:", err)
		return 2
	}
	if o.version {
		fmt.Fprintln(stdout, "framechat", version.String())
		return 0
	}
	if err := run(ctx, o, stdout); err != nil {
		fmt.Fprintln(stderr, "framechat:", err)
		return 1
	}
	return 0
}

// listener is a protocol to serve on an address.
type listener struct {
	proto chat.Protocol
	addr  string
}

// options are the command's settings, from its flags and config file.
type options struct {
	listen        []listener
	logFile       string
	logMaxMB      int
	logBackups    int
	http          string
	pprof         string
	admin         string
	nats          string
	natsTTL       time.Duration
	tlsCert       string
	tlsKey        string
	tlsSelfSigned bool
	nagle         bool
	version       bool
	history       historyOptions
	cfg           chat.Config
	hub           *hubRef // the hub, once made, for the IRC listener's LUSERS
}

// A hubRef holds the hub once run has made it: the protocols are made
// before it (parse), and IRC's LUSERS asks it for its counts.
type hubRef struct{ h atomic.Pointer[chat.Hub] }

// kill ends connection id as chat.Hub.Kill does; ErrNoSuchConn before
// the hub exists.
func (r *hubRef) kill(id uint64, farewell string, goodbye []byte) error {
	if h := r.h.Load(); h != nil {
		return h.Kill(id, farewell, goodbye)
	}
	return chat.ErrNoSuchConn
}

// killHolder ends the holder of name in scope, on any hub of the
// cluster (chat.Hub.KillHolder), once the hub is made.
func (r *hubRef) killHolder(scope, name, farewell string, goodbye []byte) error {
	if h := r.h.Load(); h != nil {
		return h.KillHolder(scope, name, farewell, goodbye)
	}
	return chat.ErrNoSuchUser
}

// operators parses -irc-opers: NAME:PASSWORD pairs separated by commas.
func operators(s string) ([]irc.Operator, error) {
	var ops []irc.Operator
	for _, pair := range strings.Split(s, ",") {
		if pair == "" {
			continue
		}
		name, password, ok := strings.Cut(pair, ":")
		if !ok || name == "" || password == "" {
			return nil, fmt.Errorf("-irc-opers: %q is not NAME:PASSWORD", pair)
		}
		ops = append(ops, irc.Operator{Name: name, Password: password})
	}
	return ops, nil
}

// stats returns the hub's counts (chat.Hub.Stats); none before it exists.
func (r *hubRef) stats() chat.Stats {
	if h := r.h.Load(); h != nil {
		return h.Stats()
	}
	return chat.Stats{}
}

// parse reads the command line (and the -config file it names) into
// options. Usage errors print the usage on stderr.
func parse(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("framechat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "host or IP for PORT (default: every address of the machine)")
	var o options
	var cs168Addr, imAddr, lobbyAddr, lineAddr, ircAddr, imRoom, motdFile, configFile string
	var lobbyOpts lobby.Options
	var ircOpts irc.Options
	o.hub = new(hubRef)
	ircOpts.Stats, ircOpts.Kill, ircOpts.KillHolder = o.hub.stats, o.hub.kill, o.hub.killHolder
	var ircOpers string
	fs.StringVar(&configFile, "config", "", "read flags from this TOML `file`, one key per flag (max-conns = 500); the command line wins")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.StringVar(&cs168Addr, "cs168", "", "listen address for the cs168 protocol, e.g. :55555")
	fs.StringVar(&imAddr, "im", "", "listen address for the im protocol, e.g. :12000")
	fs.StringVar(&lobbyAddr, "lobby", "", "listen address for the lobby protocol, e.g. :5220")
	fs.StringVar(&lineAddr, "line", "", "listen address for the linechat protocol (lines, several rooms at once; nc-friendly), e.g. :6000")
	fs.StringVar(&ircAddr, "irc", "", "listen address for IRC (RFC 1459/2812 clients such as irssi or WeeChat; #go is the room go), e.g. :6667")
	fs.StringVar(&ircOpts.ServerName, "irc-server-name", "", `the server's name to IRC clients (default "framechat")`)
	fs.StringVar(&ircOpts.Network, "irc-network", "", `the network's name to IRC clients (default "framechat")`)
	fs.DurationVar(&ircOpts.PingAfter, "irc-ping", 0, "ping IRC clients silent this long, and drop those that stay silent as long again (0: 2m; negative: never)")
	fs.StringVar(&motdFile, "irc-motd", "", "file whose lines are the IRC message of the day (default: none)")
	fs.IntVar(&ircOpts.JoinPlayback, "irc-playback", 25, "a channel's last lines sent to an IRC client that joins it, unless it fetches them itself (CHATHISTORY); with their times to clients that show server-time (0: none)")
	fs.StringVar(&ircOpers, "irc-opers", "", "IRC operators, NAME:PASSWORD[,NAME:PASSWORD]: OPER NAME PASSWORD makes a client an operator, who may KILL IRC users (better in the -config file than on the command line)")
	fs.IntVar(&ircOpts.HistoryLimit, "irc-history-limit", 0, "lines one IRC CHATHISTORY command may fetch (0: 100; at most 1000)")
	fs.StringVar(&o.logFile, "log", "server.log", `file to log every event to ("" for none); created at start`)
	fs.IntVar(&o.logMaxMB, "log-max-size", 10, "megabytes the log may reach before it is rotated (renamed with a timestamp; a new one is started)")
	fs.IntVar(&o.logBackups, "log-backups", 3, "rotated logs to keep (0: all)")
	fs.IntVar(&o.cfg.MaxQueueBytes, "queue", 0, "bytes a client may fall behind before it is disconnected (0: 64 KiB)")
	fs.StringVar(&imRoom, "im-room", "im", `the room im users share`)
	fs.DurationVar(&lobbyOpts.Pause, "lobby-pause", 0, "pause between messages to a lobby client (0: 200ms; negative: none)")
	fs.IntVar(&o.cfg.MaxConns, "max-conns", 0, "connections served at once (0: 100,000; -1: no limit)")
	fs.IntVar(&o.cfg.MaxConnsPerIP, "max-per-ip", 0, "connections from one IP address (0: no limit)")
	fs.DurationVar(&o.cfg.HelloTimeout, "hello-timeout", 0, "time a new cs168 or im connection has to send its first message (0: 30s; -1ns: none)")
	fs.DurationVar(&lobbyOpts.HelloTimeout, "lobby-hello-timeout", 0, "the same for lobby connections, whose clients ask the person first (0: 5m; -1ns: none)")
	o.cfg.ReleaseMemory = true // the process is the chat server: return memory after waves of connections
	fs.IntVar(&o.cfg.MaxSilentConns, "max-silent", 0, "connections that have not sent their first message yet (0: 1,000; -1: no limit)")
	fs.IntVar(&o.cfg.MaxSilentPerIP, "max-silent-per-ip", 0, "connections from one IP address (IPv6: one /64) that have not sent their first message yet; safe behind NAT (0: 32; -1: no limit)")
	fs.DurationVar(&o.cfg.IdleTimeout, "idle-timeout", 0, "close connections silent this long (0: never)")
	fs.DurationVar(&o.cfg.EmptyRoomTTL, "empty-room-ttl", 0, "delete a room that has had no members this long (0: 5m; -1ns: never)")
	fs.IntVar(&o.cfg.MaxRoomsPerConn, "max-rooms-per-conn", 0, "rooms a client may be in at once, and may create per -empty-room-ttl (0: 20; -1: no limit)")
	fs.IntVar(&o.cfg.MaxRooms, "max-rooms", 0, "rooms that may exist at once (0: 10,000; -1: no limit)")
	fs.IntVar(&o.cfg.MaxRoomsPerIP, "max-rooms-per-ip", 0, "rooms the clients of one address may create per -empty-room-ttl, together (0: 200; -1: no limit)")
	fs.Float64Var(&o.cfg.FloodRate, "flood-rate", 0, "messages per second a client may send on average (0: 20; -1: flood control off)")
	fs.IntVar(&o.cfg.FloodBurst, "flood-burst", 0, "messages a client may send at once (0: 40)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (PEM); with -tls-key, every listener speaks TLS")
	fs.StringVar(&o.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	fs.BoolVar(&o.tlsSelfSigned, "tls-self-signed", false, "speak TLS with a certificate made now for 127.0.0.1, ::1 and localhost; its fingerprint is printed, and written (PEM) to -tls-cert if given")
	fs.DurationVar(&o.cfg.WriteCoalesce, "write-coalesce", 2*time.Millisecond, "most a line to a client that is receiving a steady stream waits, to go out in one write with the lines that follow: fewer system calls per line for a bounded latency; a line after a quiet spell goes out at once (0: every line at once)")
	fs.BoolVar(&o.nagle, "nagle", false, "let the kernel hold a short write back until the last is acknowledged, as ngIRCd and InspIRCd do (Nagle's algorithm): less CPU per line under moderate traffic, milliseconds more latency")
	fs.StringVar(&o.http, "http", "", "serve the web page on this address, e.g. :8080: its WebSocket protocol webchat at /chat, cs168 for course clients at /ws")
	fs.StringVar(&o.nats, "nats", "", "join the servers of a cluster through this NATS server, e.g. nats://127.0.0.1:4222 (needs JetStream: nats-server -js)")
	fs.DurationVar(&o.natsTTL, "nats-ttl", 0, "with -nats: how long the cluster waits for a silent server before announcing its users as gone (0: 5s; use the same on every server)")
	fs.StringVar(&o.admin, "admin", "", "serve /healthz, /metrics (Prometheus), /debug/pprof/ and /history (DELETE /history?room=NAME forgets a room's history) on this address, e.g. 127.0.0.1:9090 (off by default; not authenticated: keep it on loopback)")
	o.history.flags(fs)
	fs.StringVar(&o.pprof, "pprof", "", "serve net/http/pprof on this address, e.g. 127.0.0.1:6060 (off by default; -admin serves it too)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: framechat [flags] [PORT]\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.version {
		return o, nil
	}
	if configFile != "" {
		if err := loadConfig(fs, configFile); err != nil {
			return o, err
		}
	}
	if fs.NArg() > 1 || fs.NArg() == 1 && cs168Addr != "" {
		fs.Usage()
		return o, errors.New("give one PORT, or -cs168, not both")
	}
	if fs.NArg() == 1 {
		cs168Addr = net.JoinHostPort(*addr, fs.Arg(0))
	}
	var err error
	if ircOpts.Operators, err = operators(ircOpers); err != nil {
		return o, err
	}
	if motdFile != "" {
		b, err := os.ReadFile(motdFile)
		if err != nil {
			return o, err
		}
		if motd := strings.TrimRight(string(b), "\r\n"); motd != "" {
			ircOpts.MOTD = strings.Split(strings.ReplaceAll(motd, "\r\n", "\n"), "\n")
		}
	}
	for _, l := range []listener{
		{chat.CS168, cs168Addr},
		{irc.New(ircOpts), ircAddr},
		{im.New(imRoom), imAddr},
		{lobby.New(lobbyOpts), lobbyAddr},
		{linechat.Protocol, lineAddr},
	} {
		if l.addr != "" {
			o.listen = append(o.listen, l)
		}
	}
	if len(o.listen) == 0 && o.http == "" {
		fs.Usage()
		return o, errors.New("give a PORT, or at least one of -cs168, -im, -lobby, -line, -irc, -http")
	}
	return o, nil
}

func run(ctx context.Context, o options, stdout io.Writer) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	out := &lockedWriter{w: stdout}

	health := newHealth()
	metrics := newMetrics()
	observers := []chat.Observer{
		chat.ObserveOnly(chat.ObserverFunc(func(e chat.Event) { printOrigin(out, e) }),
			chat.EventConnect, chat.EventDisconnect, chat.EventBusDown, chat.EventBusUp, chat.EventBusReap),
		chat.ObserveOnly(chat.ObserverFunc(health.observe), chat.EventBusDown, chat.EventBusUp),
		metrics,
	}
	var logger *slog.Logger
	if o.logFile != "" {
		f, err := openLog(o.logFile, o.logMaxMB, o.logBackups)
		if err != nil {
			return err
		}
		defer f.Close()
		logger = slog.New(slog.NewTextHandler(f, nil))
		observers = append(observers, chat.NewSlogObserver(logger))
	}
	o.cfg.Observer = chat.Observers(observers...)

	tlsConfig, err := loadTLS(o, out)
	if err != nil {
		return err
	}

	var bus *natsbus.Bus
	if o.nats != "" {
		health.setBus(true, "") // connected once Connect returns; its events follow it from there
		metrics.busUp.Set(1)
		connectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		bus, err = natsbus.Connect(connectCtx, o.nats, natsbus.Options{Observer: o.cfg.Observer, PresenceTTL: o.natsTTL})
		cancel()
		if err != nil {
			return err
		}
		defer bus.Close() // on an early return; once the hub has shut down, it is closed below
		o.cfg.Bus = bus
		fmt.Fprintf(out, "clustered through NATS at %s as node %s\n", o.nats, bus.Node())
		if o.history.jetstream && !o.history.off {
			connectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			hs, err := natsbus.NewHistory(connectCtx, bus.Conn(), natsbus.HistoryOptions{Limits: o.history.limits})
			cancel()
			if err != nil {
				return err
			}
			defer hs.Close()
			o.cfg.History = hs
		}
	}
	metrics.busConfigured = bus != nil
	msg, err := o.history.configure(&o.cfg, bus != nil)
	if err != nil {
		return err
	}
	defer o.history.close(out) // after the hub has shut down (g.Wait below)
	fmt.Fprintln(out, msg)
	metrics.history, _ = o.cfg.History.(historySizer)
	hub := chat.NewHub(o.cfg)
	if o.hub != nil {
		o.hub.h.Store(hub)
	}
	metrics.hub = hub
	metrics.queueLimit = o.cfg.MaxQueueBytes

	g, ctx := errgroup.WithContext(ctx)
	// serveHTTP serves h on ln until ctx is done.
	serveHTTP := func(name string, ln net.Listener, h http.Handler, tlsConfig *tls.Config) {
		hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: log.New(out, name+": ", 0)} // TLS handshake errors among them
		if tlsConfig != nil {
			ln = tls.NewListener(ln, tlsConfig)
		}
		health.listenerUp(name)
		g.Go(func() error {
			err := hs.Serve(ln)
			health.listenerDown(name, err)
			if !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		g.Go(func() error {
			<-ctx.Done()
			return hs.Close() // WebSockets are the hub's; Shutdown tells and closes them
		})
	}
	fail := func(err error) error {
		stop()
		g.Wait()
		return err
	}
	if o.admin != "" {
		ln, err := net.Listen("tcp", o.admin)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(out, "admin (/healthz, /metrics, /history, /debug/pprof/) on %s\n", openableURL("http", ln.Addr()))
		serveHTTP("admin", ln, adminHandler(health, metrics), nil)
	}
	if o.pprof != "" {
		ln, err := net.Listen("tcp", o.pprof)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(out, "pprof on %sdebug/pprof/\n", openableURL("http", ln.Addr()))
		serveHTTP("pprof", ln, pprofHandler(), nil)
	}
	if o.http != "" {
		mux := http.NewServeMux()
		mux.Handle("/", web.Handler())
		mux.Handle("/chat", ws.Handler(hub, ws.Options{Protocol: webchat.Default, Text: true}))
		mux.Handle("/ws", ws.Handler(hub, ws.Options{})) // cs168, for the course
		ln, err := net.Listen("tcp", o.http)
		if err != nil {
			return fail(err)
		}
		scheme := "http"
		if tlsConfig != nil {
			scheme = "https"
		}
		fmt.Fprintf(out, "web client on %s\n", openableURL(scheme, ln.Addr()))
		serveHTTP("web", ln, mux, tlsConfig)
	}
	for _, l := range o.listen {
		ln, err := chat.ListenTCP(ctx, l.addr)
		if err != nil {
			return fail(err)
		}
		if o.nagle {
			ln = nagle{ln}
		}
		secure := ""
		if tlsConfig != nil {
			ln = newTLSTransport(ln, tlsConfig, func(addr string, err error) {
				fmt.Fprintf(out, "%s TLS handshake from %s failed: %v\n", l.proto.Name(), addr, err)
				if logger != nil {
					logger.Info("tls-handshake-error", "protocol", l.proto.Name(), "addr", addr, "err", err)
				}
			})
			secure = " (TLS)"
		}
		// The address as it is: [::]:55555 says "every address", which
		// 127.0.0.1 would hide from an operator. (Web pages get a URL
		// one can open: openableURL.)
		fmt.Fprintf(out, "%s listening on %s%s\n", l.proto.Name(), ln.Addr(), secure)
		name := l.proto.Name()
		health.listenerUp(name)
		g.Go(func() error {
			err := hub.ServeProtocol(ln, l.proto)
			health.listenerDown(name, err)
			if !errors.Is(err, chat.ErrHubClosed) {
				return err
			}
			return nil
		})
	}
	g.Go(func() error {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return hub.Shutdown(shutdownCtx)
	})
	err = g.Wait()
	if bus != nil {
		bus.Close() // after the hub has shut down: its users leave first
	}
	fmt.Fprintln(out, "server stopped")
	return err
}

// openableAddr returns addr as a person can dial it: a listener on every
// address of the machine (0.0.0.0 or ::) is reachable on loopback, so
// 127.0.0.1 stands for it.
func openableAddr(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// openableURL returns the URL of an HTTP listener as a person can open it,
// such as http://127.0.0.1:8080/.
func openableURL(scheme string, addr net.Addr) string {
	return scheme + "://" + openableAddr(addr) + "/"
}

// lockedWriter serialises writes from the many goroutines that print.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// printOrigin prints each connection's origin and end on out.
func printOrigin(out io.Writer, e chat.Event) {
	switch e.Kind {
	case chat.EventConnect:
		fmt.Fprintf(out, "%s connection from %s\n", e.Protocol, e.Addr)
	case chat.EventDisconnect:
		who := e.Addr
		if e.Name != "" {
			who += " (" + e.Name + ")"
		}
		fmt.Fprintf(out, "%s %s disconnected: %s\n", e.Protocol, who, e.Text)
	case chat.EventBusDown:
		fmt.Fprintf(out, "cluster: %s (%v)\n", e.Text, e.Err)
	case chat.EventBusUp:
		fmt.Fprintf(out, "cluster: %s\n", e.Text)
	case chat.EventBusReap:
		fmt.Fprintf(out, "cluster: %s left %s: %s\n", e.Name, e.Room, e.Text)
	}
}
