package chat

import (
	"errors"
	"fmt"
)

// Sentinel errors. Match them with errors.Is; the errors the package returns
// wrap them with context.
var (
	// ErrFrameTooLong means a message is longer than the frame width. It is
	// returned instead of writing a broken frame.
	ErrFrameTooLong = errors.New("chat: message longer than the frame")

	// ErrPartialFrame means a stream ended inside a frame.
	ErrPartialFrame = errors.New("chat: stream ended inside a frame")

	// ErrHubClosed is returned by Serve and ServeConn after Shutdown.
	ErrHubClosed = errors.New("chat: hub closed")

	// ErrNoSuchRoom means a room was named that does not exist.
	ErrNoSuchRoom = errors.New("chat: no such room")

	// ErrRoomExists means a room could not be created because one with that
	// name exists already.
	ErrRoomExists = errors.New("chat: room already exists")

	// ErrInvalidName means a user or room name breaks the naming rules.
	ErrInvalidName = errors.New("chat: invalid name")

	// errSlowConsumer means a connection was closed because it did not read
	// fast enough: its outbound queue passed Config.MaxQueueBytes.
	errSlowConsumer = errors.New("chat: slow consumer: outbound queue full")

	// errWriteStalled means a connection was closed because a write to it
	// made no progress for Config.WriteTimeout: the peer accepts no bytes.
	errWriteStalled = errors.New("chat: slow consumer: write deadline passed")

	// errKicked means the program closed a connection (Hub.Disconnect).
	errKicked = errors.New("chat: disconnected by the server")

	// ErrNoHistory means the hub keeps no history (Config.NoHistory).
	ErrNoHistory = errors.New("chat: no history kept")

	// ErrNoSuchConn means a connection number that the hub does not serve.
	ErrNoSuchConn = errors.New("chat: no such connection")

	// ErrUnknownCommand means a client sent a command the protocol does not
	// have.
	ErrUnknownCommand = errors.New("chat: unknown command")

	// ErrMissingArgument means a command lacked its argument.
	ErrMissingArgument = errors.New("chat: command needs an argument")

	// ErrNickInUse means a name is taken: by a member of the room for the
	// lobby protocol, by an im user for the im protocol.
	ErrNickInUse = errors.New("chat: name in use")

	// ErrNoSuchUser means a whisper named a user who is not there.
	ErrNoSuchUser = errors.New("chat: no such user")

	// ErrTooManyConns means a connection was refused because the hub, or
	// the peer's IP address, has as many as Config allows.
	ErrTooManyConns = errors.New("chat: too many connections")

	// errIdle means a connection was closed for sending nothing within
	// Config.HelloTimeout (its first message) or Config.IdleTimeout.
	errIdle = errors.New("chat: connection idle too long")

	// ErrNotInRoom means a client sent chat before joining a room.
	ErrNotInRoom = errors.New("chat: not in a room")

	// ErrRoomNotEmpty means a room was not deleted because it has members
	// (Bus.DeleteRoom).
	ErrRoomNotEmpty = errors.New("chat: room not empty")

	// ErrTooManyRooms means a connection was refused a room because it is
	// in, or has lately created, as many rooms as Config.MaxRoomsPerConn
	// allows.
	ErrTooManyRooms = errors.New("chat: too many rooms for one connection")

	// ErrRoomsFull means a room could not be created because as many rooms
	// exist as Config.MaxRooms allows.
	ErrRoomsFull = errors.New("chat: the server has too many rooms")

	// ErrNotDelivered is matched by the error of a Bus's Publish that
	// delivered the message to the publishing hub's own members but cannot
	// say that the other hubs' members will get it (a NATS outage). The hub
	// tells the sender of such a line so, in its protocol's words.
	ErrNotDelivered = errors.New("chat: message may not have reached the other servers")
)

// CommandError is the error a session reports to the Observer (and to the
// client, as Reply) when a client's command fails. It wraps one of the
// sentinels above, so errors.Is works on it.
type CommandError struct {
	Command string // the command word as sent, e.g. "/join"
	Reply   string // the exact text sent back to the client
	Err     error  // the sentinel: ErrNoSuchRoom, ErrRoomExists, ...
}

// Error says which command failed and why.
func (e *CommandError) Error() string {
	return fmt.Sprintf("chat: command %q: %v", e.Command, e.Err)
}

// Unwrap returns the sentinel, for errors.Is.
func (e *CommandError) Unwrap() error { return e.Err }
