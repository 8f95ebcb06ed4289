package chat

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestObserversFanOut(t *testing.T) {
	t.Parallel()
	var a, b []EventKind
	obs := Observers(ObserverFunc(func(e Event) { a = append(a, e.Kind) }), nil, ObserverFunc(func(e Event) { b = append(b, e.Kind) }))
	obs.Observe(Event{Kind: EventJoin})
	obs.Observe(Event{Kind: EventLeave})
	want := []EventKind{EventJoin, EventLeave}
	if !cmp.Equal(a, want) || !cmp.Equal(b, want) {
		t.Errorf("a = %v, b = %v, want both %v", a, b, want)
	}
	if EventThrottled.String() != "throttled" || EventKind(200).String() != "unknown" {
		t.Error("EventKind names")
	}
}

func TestMessageKindString(t *testing.T) {
	if MessageChat.String() != "chat" || MessageWhisper.String() != "whisper" || MessageKind(99).String() != "MessageKind(99)" {
		t.Errorf("MessageKind names: %v %v %v", MessageChat, MessageWhisper, MessageKind(99))
	}
	if MessageKicked.String() != "kicked" || MessageTopic.String() != "topic" || MessageMode.String() != "mode" || MessageInvited.String() != "invited" {
		t.Errorf("MessageKind names: %v %v %v %v", MessageKicked, MessageTopic, MessageMode, MessageInvited)
	}
}
