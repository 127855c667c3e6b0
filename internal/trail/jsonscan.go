package trail

import (
	"bytes"
	"errors"
	"fmt"
)

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 512

// SyntaxError reports where a JSON document stops being valid.
type SyntaxError struct {
	Offset int64 // byte offset within the decompressed value
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

// errIncomplete means the buffer ended inside a value: more input may complete it.
var errIncomplete = errors.New("unexpected end of JSON input")

func synErr(off int, msg string) error { return &SyntaxError{Offset: int64(off), Msg: msg} }

// isSpace reports JSON insignificant white space.
func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// skipSpace returns the index of the first byte from b[i] on that is not
// white space. Every JSON white space byte is at most ' ', so one
// comparison passes the byte that usually comes, a token's.
func skipSpace(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && isSpace(b[i]) {
		i++
	}
	return i
}

// skipValue validates the JSON value starting at b[i] (after white space)
// and returns the index just past it. It checks structure (brackets,
// commas, colons, literals, numbers, closed strings) but not the contents
// of escape sequences: values that are then decoded are checked again by
// encoding/json, and for the rest structure is what matters.
func skipValue(b []byte, i int) (int, error) {
	return skipValueDepth(b, i, 0)
}

func skipValueDepth(b []byte, i, depth int) (int, error) {
	i = skipSpace(b, i)
	if i >= len(b) {
		return i, errIncomplete
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case c == '{':
		return skipObject(b, i, depth+1)
	case c == '[':
		return skipArray(b, i, depth+1)
	case c == 't':
		return skipLiteral(b, i, "true")
	case c == 'f':
		return skipLiteral(b, i, "false")
	case c == 'n':
		return skipLiteral(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return skipNumber(b, i)
	default:
		return i, synErr(i, fmt.Sprintf("unexpected character %q", c))
	}
}

// skipString returns the index just past the string that opens at b[i].
func skipString(b []byte, i int) (int, error) {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return len(b), errIncomplete
		}
		j += k
		// Count the backslashes before the quote: an odd number escapes it.
		n := 0
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return j + 1, nil
		}
		j++
	}
}

func skipLiteral(b []byte, i int, lit string) (int, error) {
	end := i + len(lit)
	if end > len(b) {
		if string(b[i:]) == lit[:len(b)-i] {
			return len(b), errIncomplete
		}
		return i, synErr(i, "invalid literal")
	}
	if string(b[i:end]) != lit {
		return i, synErr(i, "invalid literal")
	}
	return end, nil
}

func skipNumber(b []byte, i int) (int, error) {
	j := i
	if b[j] == '-' {
		j++
	}
	start := j
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == start {
		if j >= len(b) {
			return j, errIncomplete
		}
		return i, synErr(i, "invalid number")
	}
	if b[start] == '0' && j-start > 1 {
		return i, synErr(i, "invalid number: leading zero")
	}
	if j < len(b) && b[j] == '.' {
		j++
		d := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == d {
			if j >= len(b) {
				return j, errIncomplete
			}
			return i, synErr(j, "invalid number: no digits after point")
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		d := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == d {
			if j >= len(b) {
				return j, errIncomplete
			}
			return i, synErr(j, "invalid number: no exponent digits")
		}
	}
	return j, nil
}

func skipObject(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return i, synErr(i, "nesting too deep")
	}
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
		var err error
		if j, err = skipString(b, j); err != nil {
			return j, err
		}
		j = skipSpace(b, j)
		if j >= len(b) {
			return j, errIncomplete
		}
		if b[j] != ':' {
			return j, synErr(j, "expected ':' after object key")
		}
		if j = skipSpace(b, j+1); j < len(b) && b[j] == '"' {
			j, err = skipString(b, j) // most values: no call to dispatch
		} else {
			j, err = skipValueDepth(b, j, depth)
		}
		if err != nil {
			return j, err
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

func skipArray(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return i, synErr(i, "nesting too deep")
	}
	j := skipSpace(b, i+1)
	if j < len(b) && b[j] == ']' {
		return j + 1, nil
	}
	for {
		var err error
		if j, err = skipValueDepth(b, j, depth); err != nil {
			return j, err
		}
		j = skipSpace(b, j)
		if j >= len(b) {
			return j, errIncomplete
		}
		switch b[j] {
		case ',':
			j++
		case ']':
			return j + 1, nil
		default:
			return j, synErr(j, "expected ',' or ']' in array")
		}
	}
}

// walkObject walks the members of the JSON object that opens at b[0]
// (after white space). For each member it calls fn with the key (still
// escaped, without quotes) and the rest of the buffer starting at the
// value; fn returns how many bytes of that rest the value took. walkObject
// returns the index just past the object.
func walkObject(b []byte, fn func(key, rest []byte) (int, error)) (int, error) {
	i := skipSpace(b, 0)
	if i >= len(b) {
		return i, errIncomplete
	}
	if b[i] != '{' {
		return i, synErr(i, "expected object")
	}
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
		key := b[ks+1 : j-1]
		j = skipSpace(b, j)
		if j >= len(b) {
			return j, errIncomplete
		}
		if b[j] != ':' {
			return j, synErr(j, "expected ':' after object key")
		}
		vs := skipSpace(b, j+1)
		n, err := fn(key, b[vs:])
		j = vs + n
		if err != nil {
			return j, offsetErr(err, vs)
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

// walkArray calls fn with the index and raw bytes of each element of the
// JSON array that opens at b[0] (after white space) and returns the index
// just past the array. Elements before a syntax error or the end of a
// truncated buffer are all passed to fn first, so a damaged file still
// yields everything readable in it.
func walkArray(b []byte, fn func(i int, v []byte) error) (int, error) {
	i := skipSpace(b, 0)
	if i >= len(b) {
		return i, errIncomplete
	}
	if b[i] != '[' {
		return i, synErr(i, "expected array")
	}
	j := skipSpace(b, i+1)
	if j < len(b) && b[j] == ']' {
		return j + 1, nil
	}
	for n := 0; ; n++ {
		vs := skipSpace(b, j)
		var err error
		if j, err = skipValueDepth(b, vs, 1); err != nil {
			return j, err
		}
		if err := fn(n, b[vs:j]); err != nil {
			return j, err
		}
		j = skipSpace(b, j)
		if j >= len(b) {
			return j, errIncomplete
		}
		switch b[j] {
		case ',':
			j++
		case ']':
			return j + 1, nil
		default:
			return j, synErr(j, "expected ',' or ']' in array")
		}
	}
}

// offsetErr shifts the position of a syntax error found in a sub-slice
// so that it refers to the enclosing buffer.
func offsetErr(err error, by int) error {
	var se *SyntaxError
	if errors.As(err, &se) {
		return &SyntaxError{Offset: se.Offset + int64(by), Msg: se.Msg}
	}
	return err
}
