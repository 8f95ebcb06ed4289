// Command basic-server is part 0 of the cs168 assignment: it accepts
// clients one after another and prints each one's whole message.
//
//	basic-server PORT
package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: basic-server PORT")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("", os.Args[1]))
	if err != nil {
		fmt.Fprintln(os.Stderr, "basic-server:", err)
		os.Exit(1)
	}
	for {
		conn, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "basic-server:", err)
			os.Exit(1)
		}
		// One client at a time: read until it disconnects.
		msg, err := io.ReadAll(conn)
		conn.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "basic-server: read:", err)
		}
		if len(msg) > 0 && !bytes.HasSuffix(msg, []byte("\n")) {
			msg = append(msg, '\n')
		}
		os.Stdout.Write(msg)
	}
}
