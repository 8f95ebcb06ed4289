package chat

import (
	"bufio"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// styles is a protocol whose sessions are Stylers: a client that sends
// "loud" hears the room's lines through the loud Renderer, one that sends
// "deaf" hears none of them, one that sends "say TEXT" says TEXT in the
// room "yard", which every client joins as "u<ID>".
type styles struct {
	plain, loud atomic.Int32 // Render calls of each form
	loudR       *loudRenderer
}

type loudRenderer struct{ p *styles }

func (l *loudRenderer) Render(m Message) (msg, more []byte) {
	if m.Kind != MessageChat {
		return nil, nil
	}
	l.p.loud.Add(1)
	return []byte(m.From + ": " + strings.ToUpper(string(m.Text)) + "\n"), nil
}

func (*styles) Name() string                 { return "styles" }
func (*styles) Settings() Settings           { return Settings{} }
func (*styles) NewReader(r io.Reader) Reader { return styleLines{bufio.NewReader(r)} }
func (*styles) Notice(text string) []byte    { return []byte("* " + text + "\n") }

func (p *styles) Render(m Message) (msg, more []byte) {
	if m.Kind != MessageChat {
		return nil, nil
	}
	p.plain.Add(1)
	return []byte(m.From + ": " + string(m.Text) + "\n"), nil
}

func (p *styles) NewSession(c Conn) Session {
	s := &styleSession{p: p, c: c}
	c.SetName("u" + itoa64(c.ID()))
	c.Join("yard", JoinAny, func(int) { c.Send([]byte("* in\n")) })
	return s
}

func itoa64(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			return string(b[i:])
		}
	}
}

type styleLines struct{ r *bufio.Reader }

func (l styleLines) ReadMessage() ([]byte, error) {
	b, err := l.r.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	return b[:len(b)-1], nil
}

type styleSession struct {
	p          *styles
	c          Conn
	mu         sync.Mutex
	loud, deaf bool
}

func (s *styleSession) Handle(line []byte) bool {
	switch l := string(line); {
	case l == "loud", l == "deaf":
		s.mu.Lock()
		s.loud, s.deaf = l == "loud", l == "deaf"
		s.mu.Unlock()
		s.c.Send([]byte("* ok\n"))
	case strings.HasPrefix(l, "say "):
		s.c.Post(Post{Room: "yard", Text: []byte(l[4:])})
	}
	return true
}

func (s *styleSession) Style(room string, offset uint64) (Renderer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loud {
		return s.p.loudR, false
	}
	return nil, s.deaf
}

// A Styler session hears the room in the form its Style chooses, each
// form rendered once per message whatever the number of members who
// chose it, and nothing when Style says skip; the other members hear the
// protocol's own Render.
func TestStylerChoosesEachConnectionsForm(t *testing.T) {
	p := &styles{}
	p.loudR = &loudRenderer{p}
	h := NewHub(Config{})
	mt := serveProtocol(t, h, p)
	type client struct {
		io.WriteCloser
		r *bufio.Reader
	}
	dial := func(mode string) client {
		t.Helper()
		c, err := mt.Dial(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		cl := client{c, bufio.NewReader(c)}
		expect(t, cl.r, "* in\n")
		if mode != "" {
			io.WriteString(c, mode+"\n")
			expect(t, cl.r, "* ok\n")
		}
		return cl
	}
	plain, loud1, loud2, deaf := dial(""), dial("loud"), dial("loud"), dial("deaf")
	sender := dial("")
	io.WriteString(sender, "say hello\n")
	expect(t, plain.r, "u5: hello\n")
	expect(t, loud1.r, "u5: HELLO\n")
	expect(t, loud2.r, "u5: HELLO\n")
	io.WriteString(deaf, "say done\n") // deaf hears nothing of the room, its own words neither
	expect(t, plain.r, "u4: done\n")
	if n, m := p.plain.Load(), p.loud.Load(); n != 2 || m != 2 {
		t.Errorf("rendered %d plain and %d loud, want 2 and 2 (once per form per message)", n, m)
	}
	io.WriteString(deaf, "loud\n")
	expect(t, deaf.r, "* ok\n") // and not the hello or its own line before it
}

func expect(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	got, err := r.ReadString('\n')
	if err != nil || got != want {
		t.Fatalf("read %q, %v; want %q", got, err, want)
	}
}
