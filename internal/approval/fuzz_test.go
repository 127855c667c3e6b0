package approval

import "testing"

// FuzzParse: any input is either a valid set or an error, never a panic,
// and a valid set holds only entries that pass validation.
func FuzzParse(f *testing.F) {
	f.Add([]byte(valid))
	f.Add([]byte("approvals:\n  - {id: A, account: \"123456789012\", from: 2026-10-08T01:00:00Z, until: 2026-10-08T02:00:00Z, requester: a, approver: a}\n"))
	f.Add([]byte("approvals: 7"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		for _, a := range s.Items() {
			if a.ID == "" || !accountRE.MatchString(a.Account) || !a.Until.After(a.From) || a.Approver == a.Requester {
				t.Fatalf("invalid approval accepted: %+v", a)
			}
		}
	})
}
