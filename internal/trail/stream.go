package trail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"golang.org/x/sync/semaphore"
)

// baseBuffer is the window every decoder keeps: values that fit in it
// cost no more memory. Larger values borrow from the Budget.
const baseBuffer = 1 << 20

// Budget bounds the memory that decoders running at the same time spend
// on values larger than their base window. A decoder borrows once, before
// its window first grows, all it may need, and returns it when the window
// shrinks back: no decoder waits while holding a loan or a grown window,
// so none can deadlock another and the windows never outgrow the budget.
type Budget struct {
	sem   *semaphore.Weighted
	total int64
	// Grown windows given back, for the next decoder that grows: a scan
	// then allocates as many as run at once, not one per large value.
	mu   sync.Mutex
	free [][]byte
}

// window returns a grown window of capacity size, a free one if it can.
func (b *Budget) window(size int) []byte {
	if b != nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		for i, w := range b.free {
			if cap(w) >= size {
				b.free = append(b.free[:i], b.free[i+1:]...)
				return w[:0]
			}
		}
	}
	return make([]byte, 0, size)
}

// giveBack keeps a grown window for the next decoder that grows.
func (b *Budget) giveBack(w []byte) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.free = append(b.free, w)
	b.mu.Unlock()
}

// NewBudget returns a Budget of the given size in bytes.
func NewBudget(bytes int64) *Budget {
	return &Budget{sem: semaphore.NewWeighted(bytes), total: bytes}
}

// errTooLarge marks a value larger than Options.MaxValue.
var errTooLarge = errors.New("value too large")

// errFull is read's answer when the window cannot grow any more.
var errFull = errors.New("window full")

// read compacts the window and fills it with more input. When the window
// is full it grows, up to limit bytes of unconsumed data (borrowing from
// the budget beyond the base window); past that it returns errFull. At
// the end of input it returns the sticky read error (io.EOF).
func (d *Decoder) read(ctx context.Context, limit int) error {
	if d.rerr != nil {
		return d.rerr
	}
	if d.pos > 0 {
		n := copy(d.buf, d.buf[d.pos:])
		d.buf = d.buf[:n]
		d.base += int64(d.pos)
		d.pos = 0
	}
	if cap(d.buf)-len(d.buf) < 64<<10 {
		if len(d.buf) >= limit {
			return errFull
		}
		// Grow to the largest window at once: growing step by step would
		// walk the value again at each step and leave each smaller
		// window behind as garbage while the next is filled.
		want := limit + (64 << 10)
		if err := d.borrow(ctx, want); err != nil {
			return err
		}
		nb := d.opts.Budget.window(want)[:len(d.buf)]
		copy(nb, d.buf)
		d.buf = nb
	}
	// Read at least 64 KiB, and at least as much as is unconsumed: a value
	// being made whole is then walked again only each time what is held
	// of it doubles, never once per read of the stream, which for a value
	// of many megabytes would cost time in the square of its size. Small
	// reads keep the bytes being walked in the processor's cache.
	got, atLeast := 0, max(64<<10, len(d.buf))
	for got < atLeast && len(d.buf) < cap(d.buf) {
		n, err := d.r.Read(d.buf[len(d.buf):cap(d.buf)])
		d.stats.Bytes += int64(n)
		d.buf = d.buf[:len(d.buf)+n]
		got += n
		if err != nil {
			d.rerr = err
			if got > 0 {
				return nil
			}
			return err
		}
	}
	return nil
}

// borrow makes the decoder's loan from the budget cover a window of size
// bytes. The first window past the base borrows at once all that the
// largest one (MaxValue) can need, and the loan is kept until the window
// shrinks back: so a decoder never waits for memory while it holds a
// grown window. Waiting with the window but without its loan would let
// the windows together outgrow the budget (32 decoders each holding one
// while they wait); waiting with a loan for more could deadlock another.
func (d *Decoder) borrow(ctx context.Context, size int) error {
	b := d.opts.Budget
	if b == nil || size <= baseBuffer || d.loan > 0 {
		return nil
	}
	need := min(int64(max(size, d.opts.MaxValue+(64<<10))-baseBuffer), b.total)
	if err := b.sem.Acquire(ctx, need); err != nil {
		return fmt.Errorf("wait for memory: %w", err)
	}
	d.loan = need
	return nil
}

// shrink gives a grown window back once what is left in it fits the base.
func (d *Decoder) shrink() {
	if !d.grown() || len(d.buf)-d.pos > baseBuffer/2 {
		return
	}
	nb := d.small[:len(d.buf)-d.pos]
	copy(nb, d.buf[d.pos:])
	d.base += int64(d.pos)
	d.opts.Budget.giveBack(d.buf)
	d.buf, d.pos = nb, 0
	if d.loan > 0 {
		d.opts.Budget.sem.Release(d.loan)
		d.loan = 0
	}
}

// grown reports whether the window is a grown one, not the decoder's own.
func (d *Decoder) grown() bool { return cap(d.buf) != cap(d.small) || &d.buf[:1][0] != &d.small[:1][0] }

// release returns any grown window and loan when decoding ends.
func (d *Decoder) release() {
	if d.grown() {
		d.opts.Budget.giveBack(d.buf)
		d.buf = d.small[:0]
	}
	if d.loan > 0 {
		d.opts.Budget.sem.Release(d.loan)
		d.loan = 0
	}
}

// offset is the stream offset of the next unconsumed byte.
func (d *Decoder) offset() int64 { return d.base + int64(d.pos) }

// peek returns the next unconsumed byte, reading more when the window is
// empty; ok is false at the end of input.
func (d *Decoder) peek(ctx context.Context) (c byte, ok bool) {
	for d.pos == len(d.buf) {
		if d.read(ctx, baseBuffer) != nil {
			return 0, false
		}
	}
	return d.buf[d.pos], true
}

// ensure reads until n bytes are unconsumed or the input ends, and
// returns what is there (at most the window).
func (d *Decoder) ensure(ctx context.Context, n int) []byte {
	for len(d.buf)-d.pos < n {
		if d.read(ctx, baseBuffer) != nil {
			break
		}
	}
	return d.buf[d.pos:]
}

// space consumes white space, noting whether it crossed a line end.
func (d *Decoder) space(ctx context.Context) (c byte, ok bool) {
	for {
		c, ok = d.peek(ctx)
		if !ok || !isSpace(c) {
			return c, ok
		}
		if c == '\n' {
			d.bol = true
		}
		d.pos++
	}
}

// whole makes the JSON value at the window's position lie whole in the
// window and returns the index just past it; with h, it reads the value's
// Head in the same pass. It returns errTooLarge past MaxValue bytes, a
// *SyntaxError for damage (offset within the window), and errIncomplete
// when the input ends inside the value.
func (d *Decoder) whole(ctx context.Context, h *Head) (int, error) {
	for {
		var end int
		var err error
		if h != nil {
			end, err = skipRecord(d.buf, d.pos, h)
		} else {
			end, err = skipValue(d.buf, d.pos)
		}
		if (err == nil && end-d.pos > d.opts.MaxValue) || (errors.Is(err, errIncomplete) && len(d.buf)-d.pos > d.opts.MaxValue) {
			return 0, errTooLarge
		}
		if !errors.Is(err, errIncomplete) {
			return end, err
		}
		if rerr := d.read(ctx, d.opts.MaxValue); rerr != nil {
			if rerr == errFull {
				return 0, errTooLarge
			}
			if rerr == io.EOF {
				return 0, errIncomplete
			}
			return 0, rerr
		}
	}
}

// skipLenient consumes the value at the window's position without holding
// it, however deep or long. Brackets are tracked on a bounded stack (past
// it, only counted); a closing bracket closes up to the last opener of its
// kind, so `{"a":[}` ends at its brace. Strings are skipped, a raw line end
// closing a broken one (JSON strings hold none); anything else is passed
// over. It stops after the bracket that closes the first, after a scalar,
// or at the end of input, and returns the bytes consumed (at least one
// unless the input has ended).
func (d *Decoder) skipLenient(ctx context.Context) int64 {
	var n int64
	stack := d.stack[:0]
	over := 0 // levels past the stack
	inStr, esc, started, scalar := false, false, false, false
	for {
		if d.pos == len(d.buf) {
			if d.read(ctx, baseBuffer) != nil {
				return n
			}
		}
		b := d.buf[d.pos:]
		for i, c := range b {
			if inStr {
				switch {
				case esc:
					esc = false
				case c == '\\':
					esc = true
				case c == '"' || c == '\n':
					inStr = false
					if len(stack)+over == 0 {
						d.pos += i + 1
						return n + int64(i+1)
					}
				}
				continue
			}
			if scalar {
				switch c {
				case ',', ']', '}', ' ', '\n', '\r', '\t', '"', '{', '[':
					d.pos += i
					return n + int64(i)
				}
				continue
			}
			switch c {
			case '"':
				inStr = true
			case '{', '[':
				if len(stack) < cap(stack) {
					stack = append(stack, c)
				} else {
					over++
				}
			case '}', ']':
				open := byte('{')
				if c == ']' {
					open = '['
				}
				switch {
				case over > 0:
					over--
				case len(stack) > 0:
					k := bytes.LastIndexByte(stack, open)
					if k < 0 {
						k = len(stack) - 1
					}
					stack = stack[:k]
				}
				if len(stack)+over == 0 {
					d.pos += i + 1
					return n + int64(i+1)
				}
			default:
				if !started && !isSpace(c) {
					scalar = true
				}
			}
			started = true
		}
		n += int64(len(b))
		d.pos = len(d.buf)
	}
}

// resync consumes the rest of the current line and every following line
// that does not start, in its first column, with '{', '[' or a CloudWatch
// Logs timestamp, in bounded memory. It returns the bytes consumed.
func (d *Decoder) resync(ctx context.Context) int64 {
	var n int64
	for {
		// The rest of this line.
		for {
			if d.pos == len(d.buf) && d.read(ctx, baseBuffer) != nil {
				d.bol = true
				return n
			}
			if i := bytes.IndexByte(d.buf[d.pos:], '\n'); i >= 0 {
				d.pos += i + 1
				n += int64(i + 1)
				break
			}
			n += int64(len(d.buf) - d.pos)
			d.pos = len(d.buf)
		}
		d.bol = true
		b := d.ensure(ctx, 64)
		if len(b) == 0 || b[0] == '{' || b[0] == '[' || timestampPrefix(b) > 0 {
			return n
		}
	}
}

// damage reports a span of the input that was not decoded.
func (d *Decoder) damage(off, length int64, err error) {
	d.soft(&RecordError{Index: d.index, Offset: off, Length: length, Err: err})
	d.index++
}

// Decode reads r to its end and calls fn for every record, in order.
//
// Damage costs only the damaged part: a record that cannot be read, or a
// span of bytes that is not JSON, is passed to soft as a *RecordError
// naming its offset and length, and decoding goes on. In a container
// (Records, Events, Findings, or a top-level array) a bad element is
// skipped as one value, however deep or long; damage outside one skips
// to the next line that starts with '{' or '[', so in JSON Lines a bad
// line costs that line. Memory stays bounded: a value over MaxValue is
// skipped without being held. Decode returns an error only when the input
// ends inside a value, cannot be read, or holds no JSON value; everything
// before that was handed on. An error from fn stops decoding and is
// returned.
func (d *Decoder) Decode(ctx context.Context, r io.Reader, fn func(Record) error, soft func(error)) error {
	d.stats = Stats{}
	d.index = 0
	d.fn = fn
	d.soft = soft
	if d.soft == nil {
		d.soft = func(error) {}
	}
	d.r, d.rerr = r, nil
	d.buf, d.pos, d.base = d.buf[:0], 0, 0
	d.bol = true
	defer d.release()
	values := 0
	for {
		c, ok := d.space(ctx)
		if !ok {
			break
		}
		if d.bol {
			if n := timestampPrefix(d.ensure(ctx, 64)); n > 0 {
				d.pos += n // a CloudWatch Logs export line: "<timestamp> <event>"
				d.bol = false
				continue
			}
		}
		values++
		start := d.offset()
		var err error
		switch {
		case c == '{' && d.containerKey(ctx) != nil:
			err = d.containerObject(ctx)
		case c == '[':
			d.pos++
			d.bol = false
			err = d.array(ctx, nil)
		default:
			err = d.topValue(ctx)
		}
		if err == nil {
			d.shrink()
			continue
		}
		var de *damageError
		if !errors.As(err, &de) {
			return err
		}
		from := d.offset()
		n := d.resync(ctx)
		d.damage(start, from-start+n, de.err)
		d.shrink()
	}
	if values == 0 {
		return errors.New("empty input: no JSON value")
	}
	if d.rerr != nil && d.rerr != io.EOF {
		return fmt.Errorf("read: %w", d.rerr)
	}
	return nil
}

// damageError marks damage outside any container: Decode skips to the
// next line that starts a value.
type damageError struct{ err error }

func (e *damageError) Error() string { return e.err.Error() }

// truncated is the error for an input that ends inside a value.
func (d *Decoder) truncated(start int64) error {
	return fmt.Errorf("truncated: input ends inside a JSON value at byte %d (%d bytes not read)", start, d.offset()+int64(len(d.buf)-d.pos)-start)
}

// topValue handles a top-level value that is not a container object: it
// is held whole (up to MaxValue) and classified.
func (d *Decoder) topValue(ctx context.Context) error {
	start := d.offset()
	end, err := d.whole(ctx, nil)
	switch {
	case errors.Is(err, errIncomplete):
		if bytes.IndexByte(d.buf[d.pos:], '\n') >= 0 {
			return &damageError{errors.New("JSON value cut short by the next line")}
		}
		d.pos = len(d.buf)
		return d.truncated(start)
	case errors.Is(err, errTooLarge):
		return &damageError{fmt.Errorf("JSON value larger than %d bytes", d.opts.MaxValue)}
	case err != nil:
		if !isSyntax(err) {
			return err
		}
		return &damageError{offsetErr(err, int(d.base))}
	}
	v := d.buf[d.pos:end]
	if v[0] == '{' && bytes.IndexByte(v, '\n') >= 0 && (bytes.Contains(v, []byte("\n{")) || bytes.Contains(v, []byte("\n["))) {
		// A value spanning lines that starts another line with '{' is JSON
		// Lines whose first line was cut: read the lines on their own.
		return &damageError{errors.New("JSON value cut short by the next line")}
	}
	d.bol = false
	d.cur, d.curOff = v, start
	_, err = d.value(v)
	d.cur = nil
	d.pos = end
	if err != nil && isSyntax(err) {
		return fmt.Errorf("internal: %w", err)
	}
	return err
}

// containerKey returns the key when the object at the window's position
// opens with "Records", "Events" or "Findings" and an array: such an
// object is streamed element by element, never held whole.
func (d *Decoder) containerKey(ctx context.Context) []byte {
	b := d.ensure(ctx, 256)
	i := skipSpace(b, 1)
	if i >= len(b) || b[i] != '"' {
		return nil
	}
	end, err := skipString(b, i)
	if err != nil {
		return nil
	}
	key := b[i+1 : end-1]
	j := skipSpace(b, end)
	if j >= len(b) || b[j] != ':' {
		return nil
	}
	j = skipSpace(b, j+1)
	if j >= len(b) || b[j] != '[' {
		return nil
	}
	return containerName(key)
}

func containerName(key []byte) []byte {
	switch {
	case bytes.Equal(key, keyRecords):
		return keyRecords
	case bytes.Equal(key, keyEvents):
		return keyEvents
	case bytes.Equal(key, keyFindings):
		return keyFindings
	}
	return nil
}

// containerObject streams a top-level object whose members include
// containers: each container's elements are handed on one by one, and
// every other member is checked and skipped.
func (d *Decoder) containerObject(ctx context.Context) error {
	d.pos++ // '{'
	d.bol = false
	for first := true; ; first = false {
		c, ok := d.space(ctx)
		if !ok {
			return d.truncated(d.offset())
		}
		if c == '}' && first {
			d.pos++
			return nil
		}
		if c != '"' {
			return &damageError{synErr(int(d.offset()), "expected object key")}
		}
		kend, err := d.whole(ctx, nil)
		if err != nil {
			return d.structErr(err)
		}
		name := containerName(d.buf[d.pos+1 : kend-1])
		keyText := string(d.buf[d.pos+1 : min(kend-1, d.pos+65)])
		d.pos = kend
		if c, ok = d.space(ctx); !ok {
			return d.truncated(d.offset())
		}
		if c != ':' {
			return &damageError{synErr(int(d.offset()), "expected ':' after object key")}
		}
		d.pos++
		if c, ok = d.space(ctx); !ok {
			return d.truncated(d.offset())
		}
		switch {
		case name != nil && c == '[':
			d.pos++
			if err := d.array(ctx, name); err != nil {
				return err
			}
		case name != nil:
			start := d.offset()
			n := d.skipLenient(ctx)
			d.damage(start, n, fmt.Errorf("%s is not an array", name))
		default:
			start := d.offset()
			end, err := d.whole(ctx, nil)
			switch {
			case err == nil:
				d.pos = end
			case errors.Is(err, errIncomplete):
				return d.truncated(start)
			case errors.Is(err, errTooLarge) || isSyntax(err):
				n := d.skipLenient(ctx)
				d.damage(start, n, fmt.Errorf("member %q: %w", keyText, d.elemErr(err)))
			default:
				return err
			}
		}
		d.shrink()
		if c, ok = d.space(ctx); !ok {
			return d.truncated(d.offset())
		}
		switch c {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return nil
		default:
			return &damageError{synErr(int(d.offset()), "expected ',' or '}' in object")}
		}
	}
}

// structErr turns an error met while reading a container's own structure
// into damage (or truncation, or a read error).
func (d *Decoder) structErr(err error) error {
	switch {
	case errors.Is(err, errIncomplete):
		return d.truncated(d.offset())
	case errors.Is(err, errTooLarge):
		return &damageError{fmt.Errorf("JSON value larger than %d bytes", d.opts.MaxValue)}
	case isSyntax(err):
		return &damageError{offsetErr(err, int(d.base))}
	}
	return err
}

// elemErr names why an element was skipped, with stream offsets.
func (d *Decoder) elemErr(err error) error {
	if errors.Is(err, errTooLarge) {
		return fmt.Errorf("JSON value larger than %d bytes", d.opts.MaxValue)
	}
	return offsetErr(err, int(d.base))
}

// array streams the elements of an array whose '[' was consumed: under
// key (Records, Events, Findings), or at the top level when key is nil.
// A bad element costs that element; junk between elements is skipped and
// named.
func (d *Decoder) array(ctx context.Context, key []byte) error {
	c, ok := d.space(ctx)
	if !ok {
		return d.truncated(d.offset())
	}
	if c == ']' {
		d.pos++
		return nil
	}
	for {
		if err := d.element(ctx, key); err != nil {
			return err
		}
		d.shrink()
	sep:
		for {
			c, ok := d.space(ctx)
			if !ok {
				return d.truncated(d.offset())
			}
			switch c {
			case ',':
				d.pos++
				if c, ok = d.space(ctx); ok && c == ']' {
					d.damage(d.offset()-1, 1, errors.New("trailing ',' in array"))
					d.pos++
					return nil
				}
				break sep
			case ']':
				if key != nil {
					// Under Records, Events or Findings the array's ']' is
					// followed by '}' or another member, never by ",{": a
					// ']' so followed closed a damaged element, and the
					// records after it are still read.
					if n := strayClose(d.ensure(ctx, 256)); n > 0 {
						start := d.offset()
						d.pos += n
						d.damage(start, int64(n), synErr(int(start), "unexpected ']' between array elements"))
						d.index--
						continue
					}
				}
				d.pos++
				return nil
			case '{':
				d.damage(d.offset(), 0, errors.New("missing ',' between array elements"))
				d.index-- // the element that follows keeps its number
				break sep
			}
			start := d.offset()
			n := d.skipLenient(ctx)
			d.damage(start, n, synErr(int(start), fmt.Sprintf("unexpected %q between array elements", c)))
			d.index--
		}
	}
}

// strayClose reports, for b starting with ']', the length of the run of
// ']' and white space that is followed by ',' and, after white space, '{':
// 0 when b does not look so within its length.
func strayClose(b []byte) int {
	i := 1
	for i < len(b) && (b[i] == ']' || isSpace(b[i])) {
		i++
	}
	if i == len(b) || b[i] != ',' {
		return 0
	}
	j := i + 1
	for j < len(b) && isSpace(b[j]) {
		j++
	}
	if j == len(b) || b[j] != '{' {
		return 0
	}
	return i
}

// element handles one array element at the window's position.
func (d *Decoder) element(ctx context.Context, key []byte) error {
	start := d.offset()
	var h *Head
	if d.opts.Candidate != nil && bytes.Equal(key, keyRecords) {
		h = &d.head // a CloudTrail record: read its Head on the way
	}
	end, err := d.whole(ctx, h)
	switch {
	case err == nil:
	case errors.Is(err, errIncomplete):
		d.pos = len(d.buf)
		return d.truncated(start)
	case errors.Is(err, errTooLarge) || isSyntax(err):
		err = d.elemErr(err)
		n := d.skipLenient(ctx)
		d.damage(start, n, err)
		return nil
	default:
		return err
	}
	v := d.buf[d.pos:end]
	d.cur, d.curOff = v, start
	defer func() { d.cur = nil }()
	d.pos = end
	if v[0] != '{' {
		what := "array element"
		if key != nil {
			what = string(key) + " element"
		}
		d.softAt(v, fmt.Errorf("%s is not a JSON object", what))
		return nil
	}
	var herr error
	switch {
	case key == nil:
		_, herr = d.object(v)
	case bytes.Equal(key, keyRecords):
		herr = d.emit(KindCloudTrail, v, v, true, h)
	case bytes.Equal(key, keyFindings):
		herr = d.emit(KindGuardDuty, v, v, false, nil)
	default:
		herr = d.lookupEvent(v)
	}
	if herr != nil && isSyntax(herr) {
		return fmt.Errorf("internal: %w", herr)
	}
	return herr
}

// softAt reports a value inside the one being handled (d.cur) that could
// not be read, with its stream offset and length.
func (d *Decoder) softAt(v []byte, err error) {
	d.soft(&RecordError{Index: d.index, Offset: d.offsetOf(v), Length: int64(len(v)), Err: err})
	d.index++
}

// offsetOf is the stream offset of v, a sub-slice of d.cur; -1 if it is
// not one.
func (d *Decoder) offsetOf(v []byte) int64 {
	if d.cur == nil || len(v) == 0 || cap(v) > cap(d.cur) || &d.cur[:cap(d.cur)][cap(d.cur)-cap(v)] != &v[0] {
		return -1
	}
	return d.curOff + int64(cap(d.cur)-cap(v))
}
