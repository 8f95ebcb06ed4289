// Package web serves framechat's browser client: one page of HTML, CSS and
// plain JavaScript, embedded in the binary, that speaks the cs168 protocol
// over a WebSocket (see package ws). Mount Handler at "/" and the
// WebSocket handler at "/ws" of the same origin:
//
//	mux := http.NewServeMux()
//	mux.Handle("/", web.Handler())
//	mux.Handle("/ws", ws.Handler(hub, ws.Options{}))
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Handler serves the web client's files.
func Handler() http.Handler {
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return http.FileServerFS(files)
}
