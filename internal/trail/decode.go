package trail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Kind says what a record holds.
type Kind uint8

const (
	// KindCloudTrail is one CloudTrail event record.
	KindCloudTrail Kind = iota + 1
	// KindGuardDuty is one GuardDuty finding, in the PascalCase shape that
	// GetFindings returns or the camelCase shape EventBridge carries.
	KindGuardDuty
)

func (k Kind) String() string {
	switch k {
	case KindCloudTrail:
		return "cloudtrail"
	case KindGuardDuty:
		return "guardduty"
	}
	return "unknown"
}

// Record is one event found in an input, before detection.
type Record struct {
	Kind Kind
	// Raw is the record's JSON. It aliases the decoder's buffer and is
	// valid only during the callback that receives it.
	Raw []byte
	// Index is the record's 0-based position in its input, counted over
	// every record the input holds, whatever its shape.
	Index int
	// Offset is the stream offset of the record (for a lookup-events
	// entry, of the entry) in the decompressed input; -1 when unknown.
	Offset int64
}

// RecordError names a record that could not be read. The rest of the
// input is still read.
type RecordError struct {
	Index int
	// Offset and Length locate the bytes that were not decoded, in the
	// decompressed input; Offset is -1 when unknown.
	Offset, Length int64
	Err            error
}

func (e *RecordError) Error() string { return fmt.Sprintf("record %d: %s", e.Index, e.Detail()) }

// Detail is the error without the record number: the cause, and the span
// not read when there is one.
func (e *RecordError) Detail() string {
	if e.Offset < 0 {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v (%d bytes at offset %d not read)", e.Err, e.Length, e.Offset)
}
func (e *RecordError) Unwrap() error { return e.Err }

// ErrUnrecognized marks a JSON value that is none of the shapes rootguard reads.
var ErrUnrecognized = errors.New("not a CloudTrail, EventBridge or GuardDuty shape")

// Options tune a Decoder.
type Options struct {
	// Candidate, if set, is asked about each CloudTrail record's Head
	// before the record is passed on; records it rejects are counted but
	// not handed to the callback. It lets a scanner skip the bulk of a
	// trail cheaply: in a Records array the Head is read in the pass that
	// finds the record's end. GuardDuty findings and records wrapped in
	// EventBridge events are always passed on.
	Candidate func(h *Head) bool
	// MaxValue caps the size of one JSON value held whole: a record, or a
	// top-level value that is not a container. A larger one is skipped, in
	// bounded memory, and named. Zero means 32 MiB.
	MaxValue int
	// Budget, if set, is shared by the decoders of one scan: a window
	// grown past its base for a large value borrows from it, so that the
	// memory of all workers together stays bounded.
	Budget *Budget
}

// Stats counts what a decoder saw.
type Stats struct {
	Records  int   // records found, candidates or not
	Bytes    int64 // decompressed bytes read
	Rejected int   // records the Candidate filter skipped
}

// Decoder reads every record from one input: a CloudTrail log file, JSON
// Lines of records, lookup-events output, EventBridge events, or GuardDuty
// findings, in any mix, one top-level JSON value after another.
type Decoder struct {
	opts  Options
	stats Stats
	index int
	fn    func(Record) error
	soft  func(error)

	// The window over the input: buf[pos:] is unconsumed, buf[0] is at
	// stream offset base.
	r     io.Reader
	rerr  error // sticky read error (io.EOF at the end)
	buf   []byte
	small []byte // the decoder's own window; buf is it or a grown one
	pos   int
	base  int64
	bol   bool  // the last byte consumed ended a line
	loan  int64 // borrowed from the budget

	cur    []byte // the value being handled, and its stream offset
	curOff int64
	head   Head   // the Head of the record being handled
	stack  []byte // brackets open in a value being skipped
}

// NewDecoder returns a Decoder. Its buffer is reused across calls to Decode.
func NewDecoder(opts Options) *Decoder {
	if opts.MaxValue == 0 {
		opts.MaxValue = 32 << 20
	}
	small := make([]byte, 0, baseBuffer+(256<<10))
	return &Decoder{opts: opts, buf: small, small: small, stack: make([]byte, 0, 4096)}
}

// Stats returns the counts of the last Decode.
func (d *Decoder) Stats() Stats { return d.stats }

func isSyntax(err error) bool {
	var se *SyntaxError
	return errors.As(err, &se) || errors.Is(err, errIncomplete)
}

// value handles the top-level JSON value at the start of b and returns
// the bytes it took. On a truncated or damaged value it hands on what it
// can and returns a syntax error.
func (d *Decoder) value(b []byte) (int, error) {
	i := skipSpace(b, 0)
	if i >= len(b) {
		return i, errIncomplete
	}
	switch b[i] {
	case '{':
		n, err := d.object(b[i:])
		return i + n, err
	case '[':
		n, err := walkArray(b[i:], func(_ int, v []byte) error {
			if len(v) > 0 && v[0] == '{' {
				_, err := d.object(v)
				if err != nil && !isSyntax(err) {
					return err
				}
				return nil
			}
			d.softAt(v, errors.New("array element is not a JSON object"))
			return nil
		})
		return i + n, err
	default:
		n, err := skipValue(b, i)
		if err != nil {
			return n, err
		}
		d.softAt(b[i:n], ErrUnrecognized)
		return n, nil
	}
}

// Keys that decide an object's shape.
var (
	keyRecords      = []byte("Records")
	keyEvents       = []byte("Events")
	keyFindings     = []byte("Findings")
	keyDetail       = []byte("detail")
	keyDetailType   = []byte("detail-type")
	keyCTEvent      = []byte("CloudTrailEvent")
	guardDutyDetail = []byte(`"GuardDuty Finding"`)
)

// object handles one JSON object that is either a container (Records,
// Events, Findings), an EventBridge event, a CloudTrail record or a
// GuardDuty finding. It returns the bytes it consumed.
func (d *Decoder) object(b []byte) (int, error) {
	// Peek at the keys first: a container's array is walked in place.
	var container []byte
	var detail, detailType []byte
	var isRecord, isFinding bool
	end, err := walkObject(b, func(key, rest []byte) (int, error) {
		switch {
		case bytes.Equal(key, keyRecords), bytes.Equal(key, keyEvents), bytes.Equal(key, keyFindings):
			container = key
			return d.container(key, rest)
		case bytes.Equal(key, keyDetail):
			n, err := skipValueDepth(rest, 0, 1)
			detail = rest[:n]
			return n, err
		case bytes.Equal(key, keyDetailType):
			n, err := skipValueDepth(rest, 0, 1)
			detailType = rest[:n]
			return n, err
		}
		switch string(key) {
		case "eventVersion", "userIdentity", "eventSource", "eventName", "eventID":
			isRecord = true
		case "SchemaVersion", "schemaVersion", "Service", "service":
			isFinding = true
		}
		return skipValueDepth(rest, 0, 1)
	})
	if err != nil {
		if container == nil && !isSyntax(err) {
			return end, err
		}
		return end, err
	}
	switch {
	case container != nil:
		return end, nil
	case detail != nil && detailType != nil:
		if len(detail) == 0 || detail[0] != '{' {
			d.softAt(b[:end], errors.New("EventBridge event whose detail is not an object"))
			return end, nil
		}
		if bytes.Equal(detailType, guardDutyDetail) {
			return end, d.emit(KindGuardDuty, detail, detail, false, nil)
		}
		return end, d.emit(KindCloudTrail, detail, detail, false, nil)
	case isRecord:
		return end, d.emit(KindCloudTrail, b[:end], b, true, nil)
	case isFinding:
		return end, d.emit(KindGuardDuty, b[:end], b, false, nil)
	}
	d.softAt(b[:end], ErrUnrecognized)
	return end, nil
}

// container walks the array under Records, Events or Findings.
func (d *Decoder) container(key, rest []byte) (int, error) {
	if i := skipSpace(rest, 0); i < len(rest) && rest[i] != '[' {
		n, err := skipValueDepth(rest, 0, 1)
		if err != nil {
			return n, err
		}
		return n, fmt.Errorf("%s is not an array", key)
	}
	return walkArray(rest, func(_ int, v []byte) error {
		if len(v) == 0 || v[0] != '{' {
			d.softAt(v, fmt.Errorf("%s element is not a JSON object", key))
			return nil
		}
		switch {
		case bytes.Equal(key, keyRecords):
			return d.emit(KindCloudTrail, v, v, true, nil)
		case bytes.Equal(key, keyFindings):
			return d.emit(KindGuardDuty, v, v, false, nil)
		default:
			return d.lookupEvent(v)
		}
	})
}

// lookupEvent unwraps one element of lookup-events output, whose record is
// a JSON string in CloudTrailEvent.
func (d *Decoder) lookupEvent(v []byte) error {
	var ev []byte
	_, err := walkObject(v, func(key, rest []byte) (int, error) {
		n, err := skipValueDepth(rest, 0, 1)
		if err == nil && bytes.Equal(key, keyCTEvent) {
			ev = rest[:n]
		}
		return n, err
	})
	if err != nil {
		return err
	}
	if ev == nil {
		d.softAt(v, errors.New("lookup-events entry without CloudTrailEvent"))
		return nil
	}
	var s string
	if err := json.Unmarshal(ev, &s); err != nil {
		d.softAt(v, fmt.Errorf("CloudTrailEvent is not a JSON string: %w", err))
		return nil
	}
	raw := bytes.TrimSpace([]byte(s))
	end, err := skipValue(raw, 0)
	if err != nil || len(raw) == 0 || raw[0] != '{' || end != len(raw) {
		if err == nil {
			err = errors.New("not a single JSON object")
		}
		d.softAt(v, fmt.Errorf("CloudTrailEvent: %w", err))
		return nil
	}
	return d.emit(KindCloudTrail, raw, v, true, nil)
}

// emit hands on one record; at is where it stands in d.cur. A CloudTrail
// record is first put to the Candidate filter when filter is set, with
// its Head: h when the caller read it, else read here.
func (d *Decoder) emit(k Kind, raw, at []byte, filter bool, h *Head) error {
	idx := d.index
	d.index++
	d.stats.Records++
	if filter && k == KindCloudTrail && d.opts.Candidate != nil {
		if h == nil {
			d.head = HeadOf(raw)
			h = &d.head
		}
		if !d.opts.Candidate(h) {
			d.stats.Rejected++
			return nil
		}
	}
	return d.fn(Record{Kind: k, Raw: raw, Index: idx, Offset: d.offsetOf(at)})
}

// timestampPrefix returns the length of an RFC 3339 timestamp and the
// space after it at the start of b ("2026-10-08T01:02:03.456Z "), as
// CloudWatch Logs writes before each event it exports; 0 if there is none.
func timestampPrefix(b []byte) int {
	const minLen = len("2006-01-02T15:04:05Z ")
	if len(b) < minLen || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[0] < '0' || b[0] > '9' {
		return 0
	}
	for i := 0; i < 40 && i < len(b); i++ {
		switch c := b[i]; {
		case c == ' ' || c == '\t':
			if i+1 < minLen {
				return 0
			}
			if _, err := time.Parse(time.RFC3339Nano, string(b[:i])); err != nil {
				return 0
			}
			return i + 1
		case c == '\n' || c == '{' || c == '[':
			return 0
		}
	}
	return 0
}
