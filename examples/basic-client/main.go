// Command basic-client is part 0 of the cs168 assignment: it sends one
// message read from stdin to the server, then disconnects.
//
//	basic-client HOST PORT
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: basic-client HOST PORT")
		os.Exit(2)
	}
	host, port := os.Args[1], os.Args[2]
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), 10*time.Second)
	if err != nil {
		fmt.Printf("Unable to connect to %s:%s\n", host, port)
		os.Exit(1)
	}
	defer conn.Close()
	if _, err := io.Copy(conn, os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "basic-client:", err)
		os.Exit(1)
	}
}
