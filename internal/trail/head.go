package trail

import (
	"bytes"
	"encoding/binary"
)

// Head is what five members of a CloudTrail record say about who acted
// and how: userIdentity.type, userIdentity.invokedBy, eventType,
// eventSource and eventName. That is enough to tell most records no
// detection rule can match without decoding them; the decoder reads it in
// the same pass that finds where the record ends.
type Head struct {
	Type, InvokedBy                   []byte
	EventType, EventSource, EventName []byte
	// Exact is true when each value above is what encoding/json would
	// decode into a string field of that name (nil for a member absent or
	// null): every key that could name one of the five (encoding/json
	// matches keys case-insensitively) is plain ASCII without escapes and
	// appears once, userIdentity is an object or null, and each value is
	// a string without escapes, or null. When it is false the values
	// cannot be trusted: decode the record.
	Exact bool
}

// HeadOf reads the Head of the record in raw, in one pass; Exact is false
// when raw is not a single valid JSON object.
func HeadOf(raw []byte) Head {
	var h Head
	end, err := skipRecord(raw, 0, &h)
	if err != nil || skipSpace(raw, end) != len(raw) {
		h.Exact = false
	}
	return h
}

// The members a Head is read from, by level.
const (
	levelRecord = iota + 1
	levelIdentity
)

const (
	memberNone = iota
	memberIdentity
	memberType
	memberInvokedBy
	memberEventType
	memberEventSource
	memberEventName
)

// skipRecord is skipValue for a CloudTrail record: it validates the value
// at b[i] and returns the index just past it, and reads h on the way.
func skipRecord(b []byte, i int, h *Head) (int, error) {
	*h = Head{Exact: true}
	i = skipSpace(b, i)
	if i >= len(b) {
		return i, errIncomplete
	}
	if b[i] != '{' {
		h.Exact = false
		return skipValueDepth(b, i, 0)
	}
	return skipMembers(b, i, 1, h, levelRecord)
}

// skipMembers is skipObject for an object at level (the record, or its
// userIdentity): it also reads into h the members that level holds.
func skipMembers(b []byte, i, depth int, h *Head, level int) (int, error) {
	if depth > maxDepth {
		return i, synErr(i, "nesting too deep")
	}
	var seen uint8 // members met, by bit
	j := skipSpace(b, i+1)
	if j < len(b) && b[j] == '}' {
		return j + 1, nil
	}
	for {
		j = skipSpace(b, j)
		if j >= len(b) {
			return j, errIncomplete
		}
		if b[j] != '"' {
			return j, synErr(j, "expected object key")
		}
		ks := j
		var err error
		if j, err = skipString(b, j); err != nil {
			return j, err
		}
		m := headMember(b[ks+1:j-1], level, h)
		j = skipSpace(b, j)
		if j >= len(b) {
			return j, errIncomplete
		}
		if b[j] != ':' {
			return j, synErr(j, "expected ':' after object key")
		}
		vs := skipSpace(b, j+1)
		switch {
		case vs < len(b) && b[vs] == '"': // most values: no call to dispatch
			j, err = skipString(b, vs)
		case m == memberIdentity && vs < len(b) && b[vs] == '{':
			j, err = skipMembers(b, vs, depth+1, h, levelIdentity)
		default:
			j, err = skipValueDepth(b, vs, depth)
		}
		if err != nil {
			return j, err
		}
		if m != memberNone {
			if seen&(1<<m) != 0 {
				h.Exact = false // a second value, perhaps merged: decode
			}
			seen |= 1 << m
			h.set(m, b[vs:j])
		}
		j = skipSpace(b, j)
		if j >= len(b) {
			return j, errIncomplete
		}
		switch b[j] {
		case ',':
			j++
		case '}':
			return j + 1, nil
		default:
			return j, synErr(j, "expected ',' or '}' in object")
		}
	}
}

// set records the raw value v of member m.
func (h *Head) set(m int, v []byte) {
	if len(v) == 0 {
		h.Exact = false
		return
	}
	if m == memberIdentity {
		if v[0] != '{' && !bytes.Equal(v, []byte("null")) {
			h.Exact = false // encoding/json reports a type error and goes on
		}
		return
	}
	var s []byte
	switch {
	case v[0] == '"':
		s = v[1 : len(v)-1]
		if bytes.IndexByte(s, '\\') >= 0 {
			h.Exact = false
		}
	case bytes.Equal(v, []byte("null")):
		return // leaves the field as it was
	default:
		h.Exact = false
		return
	}
	switch m {
	case memberType:
		h.Type = s
	case memberInvokedBy:
		h.InvokedBy = s
	case memberEventType:
		h.EventType = s
	case memberEventSource:
		h.EventSource = s
	case memberEventName:
		h.EventName = s
	}
}

// headMember says which Head member key names at level, as encoding/json
// would match it (ASCII case folded). A key it cannot judge cheaply (an
// escape or a non-ASCII byte, which Unicode case folding might map onto
// one of the names) makes h inexact.
func headMember(key []byte, level int, h *Head) int {
	if !plainASCII(key) {
		h.Exact = false
		return memberNone
	}
	if level == levelRecord {
		switch len(key) {
		case len("eventType"): // and eventName
			switch {
			case foldEqual(key, "eventtype"):
				return memberEventType
			case foldEqual(key, "eventname"):
				return memberEventName
			}
		case len("eventSource"):
			if foldEqual(key, "eventsource") {
				return memberEventSource
			}
		case len("userIdentity"):
			if foldEqual(key, "useridentity") {
				return memberIdentity
			}
		}
		return memberNone
	}
	switch len(key) {
	case len("type"):
		if foldEqual(key, "type") {
			return memberType
		}
	case len("invokedBy"):
		if foldEqual(key, "invokedby") {
			return memberInvokedBy
		}
	}
	return memberNone
}

// foldEqual reports whether key equals lower, a lower-case ASCII word of
// the same length, ignoring ASCII case.
func foldEqual(key []byte, lower string) bool {
	for i := range len(lower) {
		if key[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// plainASCII reports whether b holds no byte of 0x80 or above and no
// backslash.
func plainASCII(b []byte) bool {
	const hi, bs, ones = 0x8080808080808080, 0x5c5c5c5c5c5c5c5c, 0x0101010101010101
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		if x&hi != 0 {
			return false
		}
		if y := x ^ bs; (y-ones)&^y&hi != 0 {
			return false // a zero byte in y: a backslash in x
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= 0x80 || c == '\\' {
			return false
		}
	}
	return true
}
