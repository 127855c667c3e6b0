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
}

// RecordError names a record that could not be read. The rest of the
// input is still read.
type RecordError struct {
	Index int
	Err   error
}

func (e *RecordError) Error() string { return fmt.Sprintf("record %d: %v", e.Index, e.Err) }
func (e *RecordError) Unwrap() error { return e.Err }

// ErrUnrecognized marks a JSON value that is none of the shapes rootguard reads.
var ErrUnrecognized = errors.New("not a CloudTrail, EventBridge or GuardDuty shape")

// Options tune a Decoder.
type Options struct {
	// Candidate, if set, is asked about each CloudTrail record's raw JSON
	// before it is passed on; records it rejects are counted but not
	// handed to the callback. It lets a scanner skip the bulk of a trail
	// cheaply. GuardDuty findings and wrapped records are always passed on.
	Candidate func(raw []byte) bool
	// MaxValue caps the size of one top-level JSON value. Zero means 256 MiB.
	MaxValue int
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
	buf   []byte
	stats Stats
	index int
	fn    func(Record) error
	soft  func(error)
}

// NewDecoder returns a Decoder. Its buffer is reused across calls to Decode.
func NewDecoder(opts Options) *Decoder {
	if opts.MaxValue == 0 {
		opts.MaxValue = 256 << 20
	}
	return &Decoder{opts: opts, buf: make([]byte, 0, 1<<20)}
}

// Stats returns the counts of the last Decode.
func (d *Decoder) Stats() Stats { return d.stats }

// Decode reads r to its end and calls fn for every record, in order. A
// record that cannot be read is passed to soft as a *RecordError and
// decoding goes on; an error that ends the input early (truncated data,
// a read error, invalid JSON inside a log file) is returned after every
// record before it was handed on. An error from fn stops decoding and is
// returned.
func (d *Decoder) Decode(r io.Reader, fn func(Record) error, soft func(error)) error {
	d.stats = Stats{}
	d.index = 0
	d.fn = fn
	d.soft = soft
	if d.soft == nil {
		d.soft = func(error) {}
	}
	buf := d.buf[:0]
	start := 0     // start of unconsumed data in buf
	var base int64 // stream offset of buf[0]
	var rerr error // sticky read error (io.EOF at the end)
	values := 0
	for {
		start = skipSpace(buf, start)
		if start == len(buf) && rerr == nil {
			buf, start, base = compact(buf, start, base)
			buf, rerr = fill(r, buf, &d.stats)
			continue
		}
		if start == len(buf) {
			break // clean end of input
		}
		if n := timestampPrefix(buf[start:]); n > 0 && lineStart(buf, start) {
			start += n // a CloudWatch Logs export line: "<timestamp> <event>"
			continue
		}
		if rerr != nil {
			// Every byte is in the buffer: walk the value in one pass,
			// handing on records as they are found.
			end, err := d.value(buf[start:])
			if err == nil {
				values++
				start += end
				continue
			}
			if !isSyntax(err) {
				d.buf = buf
				return err
			}
			if errors.Is(err, errIncomplete) {
				d.buf = buf
				if rerr != io.EOF {
					return fmt.Errorf("read: %w", rerr)
				}
				return fmt.Errorf("truncated: input ends inside a JSON value at byte %d", base+int64(start))
			}
			if values > 0 && lineStart(buf, start) && bytes.IndexByte(buf[start:], '\n') >= 0 {
				// JSON Lines: a bad line is one bad record; go on at the next line.
				d.soft(&RecordError{Index: d.index, Err: offsetErr(err, int(base)+start)})
				d.index++
				start += bytes.IndexByte(buf[start:], '\n') + 1
				continue
			}
			d.buf = buf
			return offsetErr(err, int(base)+start)
		}
		// More input may follow: find where this value ends before handing
		// anything on, reading more (the buffer doubles) while it is cut.
		end, err := skipValue(buf, start)
		if errors.Is(err, errIncomplete) {
			if len(buf)-start >= d.opts.MaxValue {
				d.buf = buf
				return fmt.Errorf("JSON value at byte %d is larger than %d bytes", base+int64(start), d.opts.MaxValue)
			}
			buf, start, base = compact(buf, start, base)
			buf, rerr = fill(r, buf, &d.stats)
			continue
		}
		if err != nil {
			if values > 0 && lineStart(buf, start) && bytes.IndexByte(buf[start:], '\n') >= 0 {
				d.soft(&RecordError{Index: d.index, Err: offsetErr(err, int(base))})
				d.index++
				start += bytes.IndexByte(buf[start:], '\n') + 1
				continue
			}
			d.buf = buf
			if c := buf[start]; c == '{' || c == '[' {
				if _, herr := d.value(buf[start:]); herr != nil && !isSyntax(herr) {
					return herr
				}
			}
			return offsetErr(err, int(base))
		}
		values++
		if _, herr := d.value(buf[start:end]); herr != nil {
			d.buf = buf
			if isSyntax(herr) {
				return offsetErr(herr, int(base)+start)
			}
			return herr
		}
		start = end
	}
	d.buf = buf
	if values == 0 {
		return errors.New("empty input: no JSON value")
	}
	if rerr != nil && rerr != io.EOF {
		return fmt.Errorf("read: %w", rerr)
	}
	return nil
}

// lineStart reports whether b[i] is the first non-blank byte of its line.
func lineStart(b []byte, i int) bool {
	for j := i - 1; j >= 0; j-- {
		if b[j] == '\n' {
			return true
		}
		if !isSpace(b[j]) {
			return false
		}
	}
	return true
}

func isSyntax(err error) bool {
	var se *SyntaxError
	return errors.As(err, &se) || errors.Is(err, errIncomplete)
}

// compact drops consumed bytes from the front of buf.
func compact(buf []byte, start int, base int64) ([]byte, int, int64) {
	if start == 0 {
		return buf, 0, base
	}
	n := copy(buf, buf[start:])
	return buf[:n], 0, base + int64(start)
}

// fill reads r into buf until the buffer is full or the input ends,
// doubling the buffer first when it is nearly full. Reading in large
// batches keeps the number of passes over a value small.
func fill(r io.Reader, buf []byte, st *Stats) ([]byte, error) {
	if cap(buf)-len(buf) < 64<<10 {
		nb := make([]byte, len(buf), 2*cap(buf)+(256<<10))
		copy(nb, buf)
		buf = nb
	}
	for len(buf) < cap(buf) {
		n, err := r.Read(buf[len(buf):cap(buf)])
		st.Bytes += int64(n)
		buf = buf[:len(buf)+n]
		if err != nil {
			return buf, err
		}
		if n == 0 {
			return buf, nil
		}
	}
	return buf, nil
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
			d.soft(&RecordError{Index: d.index, Err: errors.New("array element is not a JSON object")})
			d.index++
			return nil
		})
		return i + n, err
	default:
		n, err := skipValue(b, i)
		if err != nil {
			return n, err
		}
		d.soft(&RecordError{Index: d.index, Err: ErrUnrecognized})
		d.index++
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
			d.soft(&RecordError{Index: d.index, Err: errors.New("EventBridge event whose detail is not an object")})
			d.index++
			return end, nil
		}
		if bytes.Equal(detailType, guardDutyDetail) {
			return end, d.emit(KindGuardDuty, detail, false)
		}
		return end, d.emit(KindCloudTrail, detail, false)
	case isRecord:
		return end, d.emit(KindCloudTrail, b[:end], true)
	case isFinding:
		return end, d.emit(KindGuardDuty, b[:end], false)
	}
	d.soft(&RecordError{Index: d.index, Err: ErrUnrecognized})
	d.index++
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
			d.soft(&RecordError{Index: d.index, Err: fmt.Errorf("%s element is not a JSON object", key)})
			d.index++
			return nil
		}
		switch {
		case bytes.Equal(key, keyRecords):
			return d.emit(KindCloudTrail, v, true)
		case bytes.Equal(key, keyFindings):
			return d.emit(KindGuardDuty, v, false)
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
		d.soft(&RecordError{Index: d.index, Err: errors.New("lookup-events entry without CloudTrailEvent")})
		d.index++
		return nil
	}
	if d.opts.Candidate != nil && !d.opts.Candidate(ev) {
		d.stats.Records++
		d.stats.Rejected++
		d.index++
		return nil
	}
	var s string
	if err := json.Unmarshal(ev, &s); err != nil {
		d.soft(&RecordError{Index: d.index, Err: fmt.Errorf("CloudTrailEvent is not a JSON string: %w", err)})
		d.index++
		return nil
	}
	raw := bytes.TrimSpace([]byte(s))
	end, err := skipValue(raw, 0)
	if err != nil || len(raw) == 0 || raw[0] != '{' || end != len(raw) {
		if err == nil {
			err = errors.New("not a single JSON object")
		}
		d.soft(&RecordError{Index: d.index, Err: fmt.Errorf("CloudTrailEvent: %w", err)})
		d.index++
		return nil
	}
	return d.emit(KindCloudTrail, raw, false)
}

func (d *Decoder) emit(k Kind, raw []byte, filter bool) error {
	idx := d.index
	d.index++
	d.stats.Records++
	if filter && k == KindCloudTrail && d.opts.Candidate != nil && !d.opts.Candidate(raw) {
		d.stats.Rejected++
		return nil
	}
	return d.fn(Record{Kind: k, Raw: raw, Index: idx})
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
