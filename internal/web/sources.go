package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/approval"
	"github.com/rootguard/rootguard/internal/detect"
)

// maxFindingLine is the longest line ReadFindings accepts.
const maxFindingLine = 16 << 20

// ReadFindings reads scan results as `rootguard scan -o json` writes them:
// one finding per line. A line that is not a finding is named in
// problems ("FILE:LINE: why") and the rest is read; err is set only when
// the input itself could not be read.
func ReadFindings(r io.Reader, name string) (fs []detect.Finding, problems []string, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	for line := 1; ; line++ {
		b, rerr := br.ReadSlice('\n')
		if errors.Is(rerr, bufio.ErrBufferFull) {
			long := append([]byte(nil), b...)
			for errors.Is(rerr, bufio.ErrBufferFull) && len(long) <= maxFindingLine {
				b, rerr = br.ReadSlice('\n')
				long = append(long, b...)
			}
			b = long
			if len(long) > maxFindingLine {
				problems = append(problems, fmt.Sprintf("%s:%d: line longer than %d bytes", name, line, maxFindingLine))
				for errors.Is(rerr, bufio.ErrBufferFull) {
					_, rerr = br.ReadSlice('\n')
				}
				b = nil
			}
		}
		if t := bytes.TrimSpace(b); len(t) > 0 {
			var f detect.Finding
			switch err := json.Unmarshal(t, &f); {
			case err != nil:
				problems = append(problems, fmt.Sprintf("%s:%d: %v", name, line, err))
			case f.EventTime.IsZero() || f.Account == "":
				problems = append(problems, fmt.Sprintf("%s:%d: not a finding (no eventTime or account)", name, line))
			default:
				fs = append(fs, f)
			}
		}
		if rerr == io.EOF {
			return fs, problems, nil
		}
		if rerr != nil {
			return fs, problems, fmt.Errorf("web: read %s: %w", name, rerr)
		}
	}
}

// ApprovalsFile serves the approvals of an approvals file (the YAML that
// scan --approvals reads) as the dashboard's approvals.
type ApprovalsFile struct{ Set *approval.Set }

// Approvals lists the file's approvals, of one account or all.
func (f ApprovalsFile) Approvals(_ context.Context, account string) ([]alert.Approval, error) {
	var out []alert.Approval
	if f.Set == nil {
		return nil, nil
	}
	for _, a := range f.Set.Items() {
		if account == "" || a.Account == account {
			// A file's approvals are grants: free-text names, not
			// approved by identity (alert.OriginGrant).
			out = append(out, alert.Approval{Approval: a, Origin: alert.OriginGrant})
		}
	}
	return out, nil
}
