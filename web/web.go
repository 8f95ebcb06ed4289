// Package web serves framechat's browser client: one page of HTML, CSS and
// plain JavaScript, embedded in the binary, that speaks the webchat
// protocol (package webchat) over a WebSocket in text mode (package ws).
// Mount Handler at "/" and the WebSocket handler at "/chat" of the same
// origin:
//
//	mux := http.NewServeMux()
//	mux.Handle("/", web.Handler())
//	mux.Handle("/chat", ws.Handler(hub, ws.Options{Protocol: webchat.Default, Text: true}))
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
