package irc

// MaxLine is the longest line a client may send, CR LF included
// (RFC 1459 section 2.3). The Protocol reads lines with chat.Lines and
// this bound: a longer line is dropped whole and answered with
// ERR_INPUTTOOLONG.
const MaxLine = 512
