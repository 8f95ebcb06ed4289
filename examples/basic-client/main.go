// Command basic-client is part 0 of the cs168 assignment: it sends one
// message read from stdin to the server, then disconnects. The message is
// one line: in a terminal, what is typed up to Enter; from a pipe, its
// first line (or all of it, if it has no newline).
//
//	basic-client HOST PORT
package main

import (
	"bufio"
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
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		fmt.Fprintln(os.Stderr, "basic-client: read stdin:", err)
		os.Exit(1)
	}
	if _, err := io.WriteString(conn, line); err != nil {
		fmt.Fprintln(os.Stderr, "basic-client:", err)
		os.Exit(1)
	}
}
