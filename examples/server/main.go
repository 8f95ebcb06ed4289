// Command server runs a framechat hub: one set of rooms, served in any of
// the three protocols on their own listeners.
//
//	server [flags] [PORT]
//
// PORT serves cs168 on every address of the machine (or -addr). -cs168,
// -im, -lobby, -line and -irc take a listen address each, such as :12000,
// and may be combined: `server -cs168 :55555 -im :12000 -irc :6667`. The server
// prints where each connection comes from, logs every event to server.log
// (or -log FILE; -log "" turns it off), and stops cleanly on Ctrl-C or
// SIGTERM.
//
// With -nats URL the server joins a cluster: every server started with the
// same NATS (and JetStream) serves one chat, so clients connected to
// different servers share channels, names and lists (package natsbus).
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	chat "github.com/framechat/chat"
	"github.com/framechat/chat/examples/linechat"
	"github.com/framechat/chat/im"
	"github.com/framechat/chat/irc"
	"github.com/framechat/chat/lobby"
	"github.com/framechat/chat/natsbus"
	"github.com/framechat/chat/web"
	"github.com/framechat/chat/ws"
	"golang.org/x/sync/errgroup"
)

func main() {
	addr := flag.String("addr", "", "host or IP for PORT (default: every address of the machine)")
	var o options
	var cs168Addr, imAddr, lobbyAddr, lineAddr, ircAddr, imRoom, motdFile string
	var lobbyOpts lobby.Options
	var ircOpts irc.Options
	flag.StringVar(&cs168Addr, "cs168", "", "listen address for the cs168 protocol, e.g. :55555")
	flag.StringVar(&imAddr, "im", "", "listen address for the im protocol, e.g. :12000")
	flag.StringVar(&lobbyAddr, "lobby", "", "listen address for the lobby protocol, e.g. :5220")
	flag.StringVar(&lineAddr, "line", "", "listen address for the linechat protocol (lines, several rooms at once; nc-friendly), e.g. :6000")
	flag.StringVar(&ircAddr, "irc", "", "listen address for IRC (RFC 1459/2812 clients such as irssi or WeeChat; #go is the room go), e.g. :6667")
	flag.StringVar(&ircOpts.ServerName, "irc-server-name", "", `the server's name to IRC clients (default "framechat")`)
	flag.StringVar(&ircOpts.Network, "irc-network", "", `the network's name to IRC clients (default "framechat")`)
	flag.DurationVar(&ircOpts.PingAfter, "irc-ping", 0, "ping IRC clients silent this long, and drop those that stay silent as long again (0: 2m; negative: never)")
	flag.StringVar(&motdFile, "irc-motd", "", "file whose lines are the IRC message of the day (default: none)")
	flag.StringVar(&o.logFile, "log", "server.log", `file to log every event to ("" for none)`)
	flag.IntVar(&o.logMaxMB, "log-max-size", 10, "megabytes the log may reach before it is rotated (renamed with a timestamp; a new one is started)")
	flag.IntVar(&o.logBackups, "log-backups", 3, "rotated logs to keep (0: all)")
	flag.IntVar(&o.cfg.MaxQueueBytes, "queue", 0, "bytes a client may fall behind before it is disconnected (0: 64 KiB)")
	flag.StringVar(&imRoom, "im-room", "im", `the room im users share`)
	flag.DurationVar(&lobbyOpts.Pause, "lobby-pause", 0, "pause between messages to a lobby client (0: 200ms; negative: none)")
	flag.IntVar(&o.cfg.MaxConns, "max-conns", 0, "connections served at once (0: 100,000; -1: no limit)")
	flag.IntVar(&o.cfg.MaxConnsPerIP, "max-per-ip", 0, "connections from one IP address (0: no limit)")
	flag.DurationVar(&o.cfg.HelloTimeout, "hello-timeout", 0, "time a new cs168 or im connection has to send its first message (0: 30s; -1ns: none)")
	flag.DurationVar(&lobbyOpts.HelloTimeout, "lobby-hello-timeout", 0, "the same for lobby connections, whose clients ask the person first (0: 5m; -1ns: none)")
	o.cfg.ReleaseMemory = true // the process is the chat server: return memory after waves of connections
	flag.IntVar(&o.cfg.MaxSilentConns, "max-silent", 0, "connections that have not sent their first message yet (0: 1,000; -1: no limit)")
	flag.IntVar(&o.cfg.MaxSilentPerIP, "max-silent-per-ip", 0, "connections from one IP address (IPv6: one /64) that have not sent their first message yet; safe behind NAT (0: 32; -1: no limit)")
	flag.DurationVar(&o.cfg.IdleTimeout, "idle-timeout", 0, "close connections silent this long (0: never)")
	flag.DurationVar(&o.cfg.EmptyRoomTTL, "empty-room-ttl", 0, "delete a room that has had no members this long (0: 5m; -1ns: never)")
	flag.IntVar(&o.cfg.MaxRoomsPerConn, "max-rooms-per-conn", 0, "rooms a client may be in at once, and may create per -empty-room-ttl (0: 20; -1: no limit)")
	flag.IntVar(&o.cfg.MaxRooms, "max-rooms", 0, "rooms that may exist at once (0: 10,000; -1: no limit)")
	flag.IntVar(&o.cfg.MaxRoomsPerIP, "max-rooms-per-ip", 0, "rooms the clients of one address may create per -empty-room-ttl, together (0: 200; -1: no limit)")
	flag.Float64Var(&o.cfg.FloodRate, "flood-rate", 0, "messages per second a client may send on average (0: 20; -1: flood control off)")
	flag.IntVar(&o.cfg.FloodBurst, "flood-burst", 0, "messages a client may send at once (0: 40)")
	flag.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (PEM); with -tls-key, every listener speaks TLS")
	flag.StringVar(&o.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	flag.BoolVar(&o.nagle, "nagle", false, "let the kernel hold a short write back until the last is acknowledged, as ngIRCd and InspIRCd do (Nagle's algorithm): less CPU per line under moderate traffic, milliseconds more latency")
	flag.StringVar(&o.http, "http", "", "serve the web client and its WebSocket (cs168) on this address, e.g. :8080")
	flag.StringVar(&o.nats, "nats", "", "join the servers of a cluster through this NATS server, e.g. nats://127.0.0.1:4222 (needs JetStream: nats-server -js)")
	flag.DurationVar(&o.natsTTL, "nats-ttl", 0, "with -nats: how long the cluster waits for a silent server before announcing its users as gone (0: 5s; use the same on every server)")
	flag.StringVar(&o.pprof, "pprof", "", "serve net/http/pprof on this address, e.g. 127.0.0.1:6060 (off by default)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: server [flags] [PORT]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 1 || flag.NArg() == 1 && cs168Addr != "" {
		flag.Usage()
		os.Exit(2)
	}
	if flag.NArg() == 1 {
		cs168Addr = net.JoinHostPort(*addr, flag.Arg(0))
	}
	if motdFile != "" {
		b, err := os.ReadFile(motdFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "server:", err)
			os.Exit(2)
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
		fmt.Fprintln(os.Stderr, "server: give a PORT, or at least one of -cs168, -im, -lobby, -line, -irc, -http")
		flag.Usage()
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// listener is a protocol to serve on an address.
type listener struct {
	proto chat.Protocol
	addr  string
}

type options struct {
	listen     []listener
	logFile    string
	logMaxMB   int
	logBackups int
	http       string
	pprof      string
	nats       string
	natsTTL    time.Duration
	tlsCert    string
	tlsKey     string
	nagle      bool
	cfg        chat.Config
}

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	observers := []chat.Observer{chat.ObserveOnly(chat.ObserverFunc(printOrigin),
		chat.EventConnect, chat.EventDisconnect, chat.EventBusDown, chat.EventBusUp, chat.EventBusReap)}
	if o.logFile != "" {
		f := openLog(o.logFile, o.logMaxMB, o.logBackups)
		defer f.Close()
		observers = append(observers, chat.NewSlogObserver(slog.New(slog.NewTextHandler(f, nil))))
	}
	o.cfg.Observer = chat.Observers(observers...)
	var bus *natsbus.Bus
	if o.nats != "" {
		connectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		var err error
		bus, err = natsbus.Connect(connectCtx, o.nats, natsbus.Options{Observer: o.cfg.Observer, PresenceTTL: o.natsTTL})
		cancel()
		if err != nil {
			return err
		}
		defer bus.Close() // on an early return; once the hub has shut down, it is closed below
		o.cfg.Bus = bus
		fmt.Printf("clustered through NATS at %s as node %s\n", o.nats, bus.Node())
	}
	hub := chat.NewHub(o.cfg)

	var tlsConfig *tls.Config
	if o.tlsCert != "" || o.tlsKey != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fmt.Errorf("TLS: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	g, ctx := errgroup.WithContext(ctx)
	if o.pprof != "" {
		ps := &http.Server{Addr: o.pprof} // http.DefaultServeMux has net/http/pprof
		g.Go(func() error {
			if err := ps.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		g.Go(func() error {
			<-ctx.Done()
			return ps.Close()
		})
	}
	if o.http != "" {
		mux := http.NewServeMux()
		mux.Handle("/", web.Handler())
		mux.Handle("/ws", ws.Handler(hub, ws.Options{}))
		hs := &http.Server{Addr: o.http, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		ln, err := net.Listen("tcp", o.http)
		if err != nil {
			stop()
			g.Wait()
			return err
		}
		scheme := "http"
		if tlsConfig != nil {
			ln = tls.NewListener(ln, tlsConfig)
			scheme = "https"
		}
		fmt.Printf("web client on %s://%s/\n", scheme, ln.Addr())
		g.Go(func() error {
			if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		g.Go(func() error {
			<-ctx.Done()
			return hs.Close() // WebSockets are the hub's; Shutdown tells and closes them
		})
	}
	for _, l := range o.listen {
		ln, err := chat.ListenTCP(ctx, l.addr)
		if err != nil {
			stop()
			g.Wait()
			return err
		}
		if o.nagle {
			ln = nagle{ln}
		}
		secure := ""
		if tlsConfig != nil {
			ln = tls.NewListener(ln, tlsConfig)
			secure = " (TLS)"
		}
		fmt.Printf("%s listening on %s%s\n", l.proto.Name(), ln.Addr(), secure)
		g.Go(func() error {
			if err := hub.ServeProtocol(ln, l.proto); !errors.Is(err, chat.ErrHubClosed) {
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
	err := g.Wait()
	if bus != nil {
		bus.Close() // after the hub has shut down: its users leave first
	}
	fmt.Println("server stopped")
	return err
}

// printOrigin prints each connection's origin and end on stdout.
func printOrigin(e chat.Event) {
	switch e.Kind {
	case chat.EventConnect:
		fmt.Printf("%s connection from %s\n", e.Protocol, e.Addr)
	case chat.EventDisconnect:
		who := e.Addr
		if e.Name != "" {
			who += " (" + e.Name + ")"
		}
		fmt.Printf("%s %s disconnected: %s\n", e.Protocol, who, e.Text)
	case chat.EventBusDown:
		fmt.Printf("cluster: %s (%v)\n", e.Text, e.Err)
	case chat.EventBusUp:
		fmt.Printf("cluster: %s\n", e.Text)
	case chat.EventBusReap:
		fmt.Printf("cluster: %s left %s: %s\n", e.Name, e.Room, e.Text)
	}
}
