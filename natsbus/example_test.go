package natsbus_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/framechat/chat"
	"github.com/framechat/chat/natsbus"
	"github.com/nats-io/nats-server/v2/server"
)

// Two hubs, as two servers would be, each with its own Bus on one NATS:
// a channel made on one is joined from the other, and a line said on one
// reaches the other. (The NATS server runs inside the example; in real
// use, pass its URL, as cmd/framechat -nats does.)
func Example() {
	dir, _ := os.MkdirTemp("", "natsbus-example-")
	defer os.RemoveAll(dir)
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true, JetStream: true, StoreDir: dir})
	if err != nil {
		panic(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(5 * time.Second) {
		panic("NATS did not start")
	}
	defer ns.WaitForShutdown()
	defer ns.Shutdown()

	ctx := context.Background()
	var conns []net.Conn
	serve := func(name string) (*chat.Hub, *natsbus.Bus, *chat.FrameReader, *chat.FrameWriter) {
		bus, err := natsbus.Connect(ctx, ns.ClientURL(), natsbus.Options{})
		if err != nil {
			panic(err)
		}
		hub := chat.NewHub(chat.Config{Bus: bus})
		mt := chat.NewMemTransport()
		go hub.Serve(mt)
		conn, _ := mt.Dial(ctx)
		conns = append(conns, conn)
		fw := chat.NewFrameWriter(conn, chat.FrameSize)
		fw.WriteString(name)
		return hub, bus, chat.NewFrameReader(conn, chat.FrameSize), fw
	}
	east, eastBus, aliceIn, aliceOut := serve("alice")
	west, westBus, bobIn, bobOut := serve("bob")

	aliceOut.WriteString("/create go")
	aliceOut.WriteString("/list")
	reply, _ := aliceIn.ReadFrame()
	fmt.Printf("alice on east lists: %s\n", reply)
	bobOut.WriteString("/join go")
	joined, _ := aliceIn.ReadFrame()
	fmt.Printf("alice hears: %s\n", joined)
	bobOut.WriteString("hello from the west")
	line, _ := aliceIn.ReadFrame()
	fmt.Printf("alice hears: %s\n", line)
	bobOut.WriteString("/list")
	reply, _ = bobIn.ReadFrame()
	fmt.Printf("bob on west lists: %s\n", reply)

	for _, c := range conns {
		c.Close()
	}
	east.Shutdown(ctx)
	west.Shutdown(ctx)
	eastBus.Close() // after its hub: the hub's members leave first
	westBus.Close()
	// Output:
	// alice on east lists: go
	// alice hears: bob has joined
	// alice hears: [bob] hello from the west
	// bob on west lists: go
}
