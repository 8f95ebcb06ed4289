package chat_test

import (
	"time"

	"github.com/framechat/chat"
	"github.com/framechat/chat/im"
	"github.com/framechat/chat/lobby"
)

// init hands package chat's tests the im and lobby protocols, which they
// cannot import themselves (export_test.go).
func init() {
	chat.SetTestProtocols(im.Default, func(pause, hello time.Duration) chat.Protocol {
		return lobby.New(lobby.Options{Pause: pause, HelloTimeout: hello})
	}, lobby.Default)
}
