package grade

import (
	"fmt"
	"strings"
	"time"
)

// The cs168 server's exact texts, as the course's specification gives
// them: clients and graders match them byte for byte.
const (
	txtJoined        = "%s has joined"
	txtLeft          = "%s has left"
	txtBadControl    = "%s is not a valid control message. Valid messages are /create, /list, and /join."
	txtNoChannel     = "No channel named %s exists. Try '/create %s'?"
	txtJoinNoArg     = "/join command must be followed by the name of a channel to join."
	txtExists        = "Room %s already exists, so cannot be created."
	txtCreateNoArg   = "/create command must be followed by the name of a channel to create"
	txtNotInChannel  = "Not currently in any channel. Must join a channel before sending messages."
	hintBuffering    = "the server treats each recv() as one message; it must buffer until 200 bytes are in hand, and keep the rest for the next frame"
	hintNotices      = "check who gets the join and leave notices: the members already in the channel, not the joiner; the old channel on a switch"
	hintErrorText    = "the error texts are the protocol: copy them byte for byte from the specification, and send them to the sender only"
	hintConcurrency  = "the server blocks on one client (a recv() waiting for a frame that does not come); use select/poll or a thread per client, and buffer per client"
	hintFailedChange = "a failed command must change nothing: check that the channel exists before leaving the current one"
)

// cs168ServerChecks test a cs168 server, each against a fresh start.
var cs168ServerChecks = []check{
	{name: "cs168-server/start", family: "setup",
		rule: "A new connection's first frame is its name; /create makes a channel and moves into it, /join moves into an existing one, and the members already there get {name} has joined. Every other check starts this way: if this fails, they are skipped.",
		hint: "the usual causes: the server does not listen on the port it is given, or on every address; it does not pad to 200 bytes; it takes each recv() as one frame",
		run: func(t *T) string {
			t.pair()
			return ""
		}},
	{name: "cs168-server/frame-size", family: "framing",
		rule: "Every message in both directions is exactly 200 bytes: the text, padded with spaces.",
		hint: "pad every message to 200 bytes with spaces; send no newline or \\r in a frame",
		run: func(t *T) string {
			a, b := t.pair()
			b.send("a line")
			_, raw, err := a.read(3 * time.Second)
			if err != nil {
				t.mismatch(b.sent(), "alice receives a 200-byte frame", err.Error())
			}
			if want := string(pad("[bob] a line")); string(raw) != want {
				// A \r or \n before the padding is no padding: a client that
				// strips spaces, as the specification says, prints it.
				t.mismatch(b.sent(), quote(want), quote(string(raw)))
			}
			return ""
		}},
	{name: "cs168-server/split-frames", family: "framing",
		rule: "The receiver buffers until 200 bytes are in hand; a peer that sends a frame in many small pieces (one byte at a time, with pauses) must work.",
		// The name comes one byte at a time, the rest in 7-byte pieces.
		hint: hintBuffering,
		run: func(t *T) string {
			t.startServer()
			a := t.join("alice", "go", true)
			a.quiet("go")
			b := t.dial("bob")
			for i, m := range []string{"bob", "/join go", "in pieces"} {
				frame, size := pad(m), 7 // 7-byte pieces, a moment apart
				if i == 0 {
					size = 1 // the name one byte at a time
				}
				for i := 0; i < len(frame); i += size {
					b.write(frame[i:min(i+size, len(frame))])
					time.Sleep(500 * time.Microsecond)
				}
				b.note(m + " (in " + itoa(size) + "-byte pieces)")
			}
			a.expect(fmt.Sprintf(txtJoined, "bob"), "[bob] in pieces")
			return ""
		}},
	{name: "cs168-server/coalesced-frames", family: "framing",
		rule: "One read may return several frames plus part of the next.",
		hint: hintBuffering,
		run: func(t *T) string {
			t.startServer()
			a := t.join("alice", "go", true)
			a.quiet("go")
			b := t.dial("bob")
			all := append(append(pad("bob"), pad("/join go")...), pad("one")...)
			all = append(all, pad("two")...)
			b.write(all[:700]) // three frames and half of the fourth
			time.Sleep(50 * time.Millisecond)
			b.write(all[700:])
			b.note("bob, /join go, one, two in two writes of 700 and 100 bytes")
			a.expect(fmt.Sprintf(txtJoined, "bob"), "[bob] one", "[bob] two")
			return ""
		}},
	{name: "cs168-server/frames-at-every-offset", family: "framing",
		rule: "TCP is a byte stream: one read may return part of a frame, exactly one, or several frames plus part of the next. Frames cut at every offset, and in random pieces, all arrive whole.",
		hint: hintBuffering + " (read at most what the current frame still lacks, or keep what a read brings past the frame's end)",
		run: func(t *T) string {
			a, b := t.pair()
			seed, pieces := streamPieces(t.seed)
			var msgs []string
			var stream []byte
			for i := range streamFrames {
				msgs = append(msgs, fmt.Sprintf("m%03d", i))
				stream = append(stream, pad(msgs[i])...)
			}
			for _, p := range pieces.cut(stream) {
				b.write(p)
				time.Sleep(time.Millisecond) // a piece per read, mostly
			}
			b.note(fmt.Sprintf("%d frames, first in 7-byte pieces (a cut at every offset of a frame), then in 201-byte pieces, then in random pieces (seed %d)", streamFrames, seed))
			want := make([]string, len(msgs))
			for i, m := range msgs {
				want[i] = "[bob] " + m
			}
			a.expectStream(want)
			return fmt.Sprintf("random pieces drawn with seed %d", seed)
		}},
	{name: "cs168-server/broadcast", family: "chat",
		rule: "A chat message goes to every OTHER member of the sender's channel as [{name}] {text}.",
		run: func(t *T) string {
			a, b := t.pair()
			c := t.join("carol", "go", false)
			a.expect(fmt.Sprintf(txtJoined, "carol"))
			b.expect(fmt.Sprintf(txtJoined, "carol"))
			a.send("hello, channel")
			b.expect("[alice] hello, channel")
			c.expect("[alice] hello, channel")
			return ""
		}},
	{name: "cs168-server/no-echo", family: "chat",
		rule: "A chat message is never echoed to the sender.",
		hint: "send to every member except the sender",
		run: func(t *T) string {
			a, b := t.pair()
			a.send("not for me")
			b.expect("[alice] not for me")
			a.quiet("go")
			return ""
		}},
	{name: "cs168-server/isolation", family: "chat",
		rule: "A chat message never goes to other channels.",
		hint: "send to the members of the sender's channel only",
		run: func(t *T) string {
			t.startServer()
			a := t.join("alice", "go", true)
			d := t.join("dave", "rust", true)
			b := t.join("bob", "go", false)
			a.expect(fmt.Sprintf(txtJoined, "bob"))
			a.send("go only")
			b.expect("[alice] go only")
			d.quiet("go", "rust")
			return ""
		}},
	{name: "cs168-server/join-notices", family: "notices",
		rule: "Members of the new channel (already there) get {name} has joined; the joiner itself gets no has joined notice.",
		hint: hintNotices,
		run: func(t *T) string {
			_, b := t.pair() // alice heard bob join
			b.quiet("go")
			return ""
		}},
	{name: "cs168-server/switch-notices", family: "notices",
		rule: "/join: members of the old channel get {name} has left, of the new one {name} has joined; switching with /create sends has left to the old channel just as /join does.",
		hint: hintNotices,
		run: func(t *T) string {
			t.startServer()
			a := t.join("alice", "go", true)
			r := t.join("rick", "rust", true)
			b := t.join("bob", "go", false)
			a.expect(fmt.Sprintf(txtJoined, "bob"))
			b.send("/join rust")
			a.expect(fmt.Sprintf(txtLeft, "bob"))
			r.expect(fmt.Sprintf(txtJoined, "bob"))
			b.send("/create zig")
			r.expect(fmt.Sprintf(txtLeft, "bob"))
			a.quiet("go", "rust", "zig")
			return ""
		}},
	{name: "cs168-server/disconnect-notice", family: "notices",
		rule: "When a client disconnects, the other members of its channel get {name} has left.",
		hint: "notice the closed connection (recv returns 0 bytes) and tell the channel",
		run: func(t *T) string {
			a, b := t.pair()
			b.conn.Close()
			b.note("(closed the connection)")
			a.expect(fmt.Sprintf(txtLeft, "bob"))
			return ""
		}},
	{name: "cs168-server/disconnect-mid-frame", family: "framing", // a partial frame taken for a message is a framing fault
		rule: "A client that disconnects in the middle of a frame has left; the partial frame is no message.",
		hint: "on a closed connection, drop the partial frame and tell the channel the client has left",
		run: func(t *T) string {
			a, b := t.pair()
			b.write(pad("half a frame")[:80])
			b.note("80 bytes of a frame, then closed the connection")
			time.Sleep(50 * time.Millisecond)
			b.conn.Close()
			a.expect(fmt.Sprintf(txtLeft, "bob"))
			a.quiet("go")
			return ""
		}},
	{name: "cs168-server/disconnect-any-state", family: "robustness",
		rule: "A client may disconnect at any moment: before sending its name, in the middle of it, named but in no channel, or in a channel; the server goes on serving the others.",
		hint: "on a closed connection, drop the client whatever its state: it may have no name, or a name and no channel",
		run: func(t *T) string {
			t.startServer()
			a := t.join("alice", "go", true)
			early := t.dial("early")
			early.conn.Close()
			early.note("(connected, then closed the connection)")
			half := t.dial("half")
			half.write([]byte("ha"))
			half.conn.Close()
			half.note(`"ha" (2 bytes of its name), then closed the connection`)
			lone := t.join("lone", "", false)
			lone.quiet("go")
			lone.conn.Close()
			lone.note("(named, in no channel, closed the connection)")
			m := t.join("member", "go", false)
			a.expect(fmt.Sprintf(txtJoined, "member"))
			m.conn.Close()
			m.note("(closed the connection)")
			a.expect(fmt.Sprintf(txtLeft, "member"))
			b := t.join("bob", "go", false)
			a.expect(fmt.Sprintf(txtJoined, "bob"))
			b.send("still served")
			a.expect("[bob] still served")
			return ""
		}},
	errorCheck("unknown-control", "/foobar", fmt.Sprintf(txtBadControl, "/foobar"), "{0} is not a valid control message. Valid messages are /create, /list, and /join."),
	errorCheck("join-missing-channel", "/join nowhere", fmt.Sprintf(txtNoChannel, "nowhere", "nowhere"), "No channel named {0} exists. Try '/create {0}'?"),
	errorCheck("join-without-channel", "/join", txtJoinNoArg, txtJoinNoArg),
	errorCheck("create-existing", "/create go", fmt.Sprintf(txtExists, "go"), "Room {0} already exists, so cannot be created."),
	errorCheck("create-without-channel", "/create", txtCreateNoArg, txtCreateNoArg+" (no final period)"),
	{name: "cs168-server/error-not-in-channel", family: "errors",
		rule: "A chat message from a client in no channel gets: " + txtNotInChannel,
		hint: hintErrorText,
		run: func(t *T) string {
			t.startServer()
			a := t.join("alice", "", false)
			a.send("hello?")
			a.expect(txtNotInChannel)
			return ""
		}},
	{name: "cs168-server/failed-join-changes-nothing", family: "state",
		rule: "A command that fails changes nothing: a client in channel A who tries to join a channel that does not exist stays in A.",
		hint: hintFailedChange,
		run: func(t *T) string {
			a, b := t.pair()
			b.send("/join nowhere")
			b.expect(fmt.Sprintf(txtNoChannel, "nowhere", "nowhere"))
			b.send("still here")
			a.expect("[bob] still here")
			return ""
		}},
	{name: "cs168-server/failed-create-changes-nothing", family: "state",
		rule: "A command that fails changes nothing: /create of an existing channel leaves the client where it was.",
		hint: hintFailedChange,
		run: func(t *T) string {
			t.startServer()
			a := t.join("alice", "go", true)
			t.join("rick", "rust", true).quiet("go", "rust")
			b := t.join("bob", "go", false)
			a.expect(fmt.Sprintf(txtJoined, "bob"))
			b.send("/create rust")
			b.expect(fmt.Sprintf(txtExists, "rust"))
			b.send("still in go")
			a.expect("[bob] still in go")
			return ""
		}},
	{name: "cs168-server/list", family: "list",
		rule: "/list: reply with the names of all current channels, separated by newlines.",
		hint: "send every channel's name, joined with \\n, in one frame",
		run: func(t *T) string {
			t.startServer()
			t.join("alice", "go", true).quiet("go")
			t.join("rick", "rust", true).quiet("go", "rust")
			c := t.join("carol", "", false)
			c.quiet("go", "rust")
			return ""
		}},
	{name: "cs168-server/list-empty", family: "list",
		rule: "/list with no channels: some servers send nothing, some one empty frame.",
		run: func(t *T) string {
			t.startServer()
			a := t.join("alice", "", false)
			a.send("/list")
			text, _, err := a.read(500 * time.Millisecond)
			switch {
			case err == errTimeout:
				return "sends nothing for /list with no channels"
			case err != nil:
				t.mismatch(a.sent(), "nothing, or one empty frame", err.Error())
			case text != "":
				t.mismatch(a.sent(), "nothing, or one empty frame", quote(text))
			}
			return "sends one empty frame for /list with no channels"
		}},
	{name: "cs168-server/stalled-client", family: "robustness",
		rule: "A client stalled in the middle of a frame must not block the others.",
		hint: hintConcurrency,
		run: func(t *T) string {
			t.startServer()
			s := t.dial("stalled")
			s.write([]byte("stal"))
			s.note(`"stal" (4 bytes of a frame), then nothing`)
			time.Sleep(50 * time.Millisecond)
			t.othersServed()
			return ""
		}},
	{name: "cs168-server/silent-client", family: "robustness",
		rule: "A client that connects and sends nothing must not block the others.",
		hint: hintConcurrency,
		run: func(t *T) string {
			t.startServer()
			t.dial("silent")
			time.Sleep(50 * time.Millisecond)
			t.othersServed()
			return ""
		}},
	{name: "cs168-server/24-clients", family: "robustness",
		rule: "24 clients at once, in three channels, each hear the others of their channel.",
		hint: hintConcurrency,
		run: func(t *T) string {
			t.startServer()
			channels := []string{"ch0", "ch1", "ch2"}
			var cs [24]*fc
			for i := range cs {
				cs[i] = t.join(fmt.Sprint("u", i), channels[i%3], i < 3)
				if i >= 3 { // the channel's first member hears it: the join is done
					cs[i%3].expect(fmt.Sprintf(txtJoined, fmt.Sprint("u", i)))
				}
			}
			cs[23].send("last one in")
			// Every other member of ch2 hears the joins after its own, then
			// the line.
			for i := 5; i < 23; i += 3 {
				var want []string
				for j := i + 3; j < 24; j += 3 {
					want = append(want, fmt.Sprintf(txtJoined, fmt.Sprint("u", j)))
				}
				cs[i].expect(append(want, "[u23] last one in")...)
			}
			cs[2].expect("[u23] last one in")
			return ""
		}},
	{name: "cs168-server/silent-join-own-channel", family: "silent",
		rule: "The specification is silent on /join of the channel one is in: any answer passes if the client stays in the channel.",
		run: func(t *T) string {
			a, b := t.pair()
			b.send("/join go")
			b.send("still in go")
			var told []string
			for {
				text, _, err := a.read(3 * time.Second)
				if err != nil {
					t.mismatch(b.sent(), `alice receives "[bob] still in go" (bob stays in go)`, quote(strings.Join(told, " | "))+", then "+err.Error())
				}
				if text == "[bob] still in go" {
					break
				}
				told = append(told, text)
			}
			if len(told) == 0 {
				return "/join of one's own channel tells the others nothing"
			}
			return "/join of one's own channel tells the others " + quote(strings.Join(told, " | "))
		}},
	{name: "cs168-server/silent-empty-frame", family: "silent",
		rule: "The specification is silent on a frame of spaces only: any handling passes if the server goes on serving the client.",
		run: func(t *T) string {
			a, b := t.pair()
			b.send("", "after the empty frame")
			first, _, err := a.read(3 * time.Second)
			if err != nil {
				t.mismatch(b.sent(), `alice receives "[bob] after the empty frame"`, err.Error())
			}
			if first == "[bob] after the empty frame" {
				return "an empty frame is ignored"
			}
			a.expect("[bob] after the empty frame")
			return "an empty frame is passed on as " + quote(first)
		}},
	{name: "cs168-server/silent-long-line", family: "silent",
		rule: "The specification lets a program assume that no message is longer than 200 characters, so it is silent on a chat line that fits one frame alone but not behind \"[name] \": any handling passes if the server goes on serving (-strict: every frame stays 200 bytes).",
		run: func(t *T) string {
			a, b := t.pair()
			long := strings.Repeat("x", 198)
			b.send(long, "after")
			raw := a.readUntil(b.sent(), "[bob] after")
			if len(raw)%frameSize == 0 {
				var got []string
				for i := 0; i < len(raw); i += frameSize {
					got = append(got, strings.TrimRight(string(raw[i:i+frameSize]), " \t\r\n\x00"))
				}
				switch {
				case len(got) == 0:
					return "a line too long for one frame is dropped"
				case len(got) == 1:
					return "a line too long for one frame is cut to one frame"
				}
				return "a line too long for one frame is split into " + itoa(len(got)) + " frames"
			}
			if t.strict {
				t.mismatch(b.sent(), "whole 200-byte frames, then \"[bob] after\"", itoa(len(raw))+" bytes before \"[bob] after\": "+quote(cut(string(raw), 300)))
			}
			return "a line too long for one frame is relayed as one message of " + itoa(len(raw)) + " bytes, over 200 (allowed: a program may assume no message is longer than 200 characters; -strict refuses it)"
		}},
	{name: "cs168-server/trailing-newline", family: "tolerance",
		rule: "The receiver strips trailing spaces; some clients send the newline typed on stdin inside the frame (/list\\n + spaces). Stripping it too, or taking the frame as it is, both pass if the server goes on serving.",
		hint: "a newline inside a frame must not crash the server or stop it serving the client",
		run: func(t *T) string {
			a, b := t.pair()
			b.send("/list\n")
			text, _, err := b.read(3 * time.Second)
			if err != nil {
				t.mismatch(b.sent(), `bob receives the /list reply "go", or the unknown-control error for "/list\n"`, err.Error())
			}
			b.send("still here\n")
			a.expect("[bob] still here")
			switch text {
			case "go":
				return "strips a newline at the end of a frame too"
			case fmt.Sprintf(txtBadControl, "/list\n"), fmt.Sprintf(txtBadControl, "/list"):
				return "strips trailing spaces only, as the course's specification says: \"/list\\n\" is an unknown control message"
			}
			return "answers \"/list\\n\" with " + quote(text)
		}},
}

// errorCheck is the check of one error reply: the sender gets text, the
// others of its channel nothing.
func errorCheck(name, command, text, rule string) check {
	return check{name: "cs168-server/error-" + name, family: "errors",
		rule: "A failed " + strings.Fields(command)[0] + " gets: " + rule + " (to the sender only)",
		hint: hintErrorText,
		run: func(t *T) string {
			a, b := t.pair()
			b.send(command)
			b.expect(text)
			a.quiet("go")
			return ""
		}}
}
