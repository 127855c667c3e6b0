package awssim

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Who may call each Organizations operation, as the API Reference says it
// in the operation's documentation (testdata/organizations-callers.tsv,
// quoted from the SDK's model; testdata/SOURCE.md).

// callerClass is who may call an Organizations operation.
type callerClass string

const (
	// callerManagement: "You can only call this operation from the
	// management account."
	callerManagement callerClass = "management"
	// callerDelegated: "... from the management account or a member account
	// that is a delegated administrator."
	callerDelegated callerClass = "delegated"
	// callerMember: "You can call this operation from any account in a
	// organization."
	callerMember callerClass = "member"
)

// callerWords are the words a quoted sentence must have (and must not
// have) to be classified as each class: the table cannot say more than
// its quote.
var callerWords = map[callerClass]struct{ want, not []string }{
	callerManagement: {want: []string{"only", "management account"}, not: []string{"delegated administrator", "any account"}},
	callerDelegated:  {want: []string{"only", "management account", "delegated administrator"}, not: []string{"any account"}},
	callerMember:     {want: []string{"any account"}, not: []string{"only"}},
}

// orgsCaller is a row of testdata/organizations-callers.tsv.
type orgsCaller struct {
	op       string
	class    callerClass
	sentence string
}

//go:embed testdata/organizations-callers.tsv
var orgsCallersTSV string

// orgsCallers is the table, by operation; it is checked in and its test
// holds it to the SDK, so a malformed one is a build mistake.
var orgsCallers = sync.OnceValue(func() map[string]orgsCaller {
	rows, err := parseOrgsCallers(orgsCallersTSV)
	if err != nil {
		panic(err)
	}
	out := map[string]orgsCaller{}
	for _, r := range rows {
		out[r.op] = r
	}
	return out
})

// parseOrgsCallers reads the table: operation, class, sentence, tab
// separated; # starts a comment line.
func parseOrgsCallers(tsv string) ([]orgsCaller, error) {
	var rows []orgsCaller
	seen := map[string]bool{}
	for i, line := range strings.Split(tsv, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 || f[0] == "" || f[2] == "" {
			return nil, fmt.Errorf("awssim: organizations-callers.tsv:%d: want operation, class, sentence", i+1)
		}
		r := orgsCaller{op: f[0], class: callerClass(f[1]), sentence: f[2]}
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("awssim: organizations-callers.tsv:%d: %w", i+1, err)
		}
		if seen[r.op] {
			return nil, fmt.Errorf("awssim: organizations-callers.tsv:%d: %s listed twice", i+1, r.op)
		}
		seen[r.op] = true
		rows = append(rows, r)
	}
	return rows, nil
}

// check holds the row's class to the words of its sentence.
func (r orgsCaller) check() error {
	w, ok := callerWords[r.class]
	if !ok {
		return fmt.Errorf("%s: class %q: want management, delegated or member", r.op, r.class)
	}
	s := strings.ToLower(r.sentence)
	for _, word := range w.want {
		if !strings.Contains(s, word) {
			return fmt.Errorf("%s: class %s, but its sentence lacks %q: %s", r.op, r.class, word, r.sentence)
		}
	}
	for _, word := range w.not {
		if strings.Contains(s, word) {
			return fmt.Errorf("%s: class %s, but its sentence says %q: %s", r.op, r.class, word, r.sentence)
		}
	}
	return nil
}

// mayCallOrgs reports whether the caller's account may call the
// operation: the management account always; a delegated administrator
// (an account registered for any service principal) where the table says
// delegated or member; any other account of the organization where it
// says member. An operation the table lacks is the management account's.
func (c *call) mayCallOrgs() bool {
	org := c.s.sc.Organization
	if c.p.account == org.ManagementAccount {
		return true
	}
	switch orgsCallers()[c.op].class {
	case callerMember:
		return true
	case callerDelegated:
		return slices.ContainsFunc(org.DelegatedAdministrators, func(d DelegatedAdministrator) bool { return d.Account == c.p.account })
	}
	return false
}
