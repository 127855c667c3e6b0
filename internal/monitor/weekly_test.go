package monitor

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/history"
	"github.com/rootguard/rootguard/internal/notify"
)

var day0 = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

func days(n float64) time.Time { return day0.Add(time.Duration(n * float64(24*time.Hour))) }

func TestBaseline(t *testing.T) {
	for _, tc := range []struct {
		name  string
		times []time.Time
		want  int
	}{
		{"empty", nil, -1},
		{"one run", []time.Time{days(0)}, -1},
		{"two runs a day apart: the oldest", []time.Time{days(0), days(1)}, 0},
		{"daily for two weeks: the run seven days before", []time.Time{days(0), days(1), days(2), days(3), days(4), days(5), days(6), days(7), days(8), days(9), days(10), days(11), days(12), days(13), days(14)}, 7},
		{"a week ago started a few minutes late", []time.Time{days(0), days(6.9), days(7), days(14.002)}, 2},
		{"a gap: the newest older than a week", []time.Time{days(0), days(2), days(12), days(13)}, 1},
		{"nothing a week old: the oldest", []time.Time{days(10), days(11), days(13)}, 0},
		{"six and a half days is about a week, six is not", []time.Time{days(0), days(6.4), days(7), days(13)}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Baseline(tc.times); got != tc.want {
				t.Errorf("Baseline = %d, want %d", got, tc.want)
			}
		})
	}
}

// acct is an account as the audit reads it, its controls evaluated as
// the audit evaluates them.
type acct struct {
	id, ou   string
	password bool
	key      string // an active access key's id
	mfa      bool
	state    string
	err      string
}

func run(at time.Time, as ...acct) *audit.Report {
	rep := &audit.Report{StartedAt: at, Organization: audit.OrgInfo{ID: "o-exampleorg1", ManagementAccountID: "100000000000",
		EnabledFeatures: []string{"RootCredentialsManagement", "RootSessions"}, IAMTrustedAccess: true}}
	for _, s := range as {
		a := &audit.Account{ID: s.id, Name: "name-" + s.id, OUPath: s.ou, State: "ACTIVE", Error: s.err, SCPsChecked: true}
		if s.state != "" {
			a.State = s.state
		}
		if s.err == "" && a.State == "ACTIVE" {
			a.Method = audit.MethodAssumeRoot
			a.Root = &audit.Root{Password: s.password}
			if s.key != "" {
				a.Root.AccessKeys = []audit.AccessKey{{ID: s.key, Status: "Active"}}
			}
			if s.mfa {
				a.Root.MFADevices = []audit.MFADevice{{Serial: "arn:aws:iam::" + s.id + ":mfa/root", Kind: audit.MFAVirtual}}
			}
		}
		a.Controls = audit.Evaluate(a, at)
		rep.Accounts = append(rep.Accounts, a)
	}
	return rep
}

func tally(s notify.OrgState, id string) [2]int {
	for _, t := range s.Controls {
		if t.ID == id {
			return [2]int{t.Pass, t.Fail}
		}
	}
	return [2]int{-1, -1}
}

func TestState(t *testing.T) {
	rep := run(days(0),
		acct{id: "200000000001", ou: "/Workloads/Prod"},                                     // clean, strict
		acct{id: "200000000002", ou: "/Workloads/Prod/Payments", password: true, mfa: true}, // strict, password with MFA
		acct{id: "200000000003", ou: "/Sandbox", password: true, key: "AKIA3"},              // flexible, no MFA, a key
		acct{id: "200000000004", ou: "/Sandbox", password: true, mfa: true},                 // flexible: password with MFA is fine there, but virtual MFA fails IAM.6
		acct{id: "200000000005", ou: "/Suspended", state: "SUSPENDED"},
		acct{id: "200000000006", ou: "/Sandbox", err: "AccessDenied"},
	)
	s := State(rep, StrictPaths([]string{"/Workloads/Prod"}))
	want := notify.OrgState{At: days(0), Accounts: 6, Audited: 4, Unreadable: 1, Inactive: 1, WithRoot: 3, WithoutRoot: 1,
		WithRootMFA: 2, WithRootNoMFA: 1, WithAccessKeys: 1}
	got := s
	got.Controls, got.Posture, got.NeedingAction = nil, nil, 0
	if !reflect.DeepEqual(got, want) {
		t.Errorf("counts\n got %+v\nwant %+v", got, want)
	}
	for id, pf := range map[string][2]int{
		audit.CtlNoAccessKeys:    {3, 1},
		audit.CtlRootMFA:         {2, 1},
		audit.CtlHardwareMFA:     {0, 3},
		audit.CtlCredentialsGone: {1, 3},
	} {
		if got := tally(s, id); got != pf {
			t.Errorf("%s pass/fail %v, want %v", id, got, pf)
		}
	}
	if p := s.Posture; p == nil || *p != (notify.Posture{StrictOUs: 2, StrictAccounts: 2, StrictWithRoot: 1, FlexibleOUs: 2, FlexibleAccounts: 4}) {
		t.Errorf("posture %+v", p)
	}
	// 2 (strict: RG.ROOT.1, IAM.6), 3 (IAM.4, IAM.9, IAM.6), 4 (IAM.6):
	// RG.ROOT.1 alone calls for action only in a strict OU.
	if s.NeedingAction != 3 {
		t.Errorf("needing action %d, want 3", s.NeedingAction)
	}
	needs := NeedingAction(rep, StrictPaths([]string{"/Workloads/Prod"}))
	var ids []string
	for _, n := range needs {
		ids = append(ids, n.Account)
	}
	if !slices.Equal(ids, []string{"200000000003", "200000000002", "200000000004"}) ||
		!slices.Equal(needs[1].Failing, []string{audit.CtlHardwareMFA, audit.CtlCredentialsGone}) {
		t.Errorf("needing action %+v", needs)
	}
	if State(rep, nil).Posture != nil {
		t.Error("a posture without strict OUs")
	}
}

func TestCompare(t *testing.T) {
	prod := acct{id: "200000000001", ou: "/Workloads/Prod"}
	sand := acct{id: "200000000003", ou: "/Sandbox", password: true, key: "AKIA3"}
	for _, tc := range []struct {
		name        string
		prev, cur   []acct
		regs, fixes []string // kind:account:detail
	}{
		{"unchanged", []acct{prod, sand}, []acct{prod, sand}, nil, nil},
		{"a key appears", []acct{prod, sand}, []acct{{id: prod.id, ou: prod.ou, key: "AKIANEW"}, sand},
			[]string{CredentialAppeared + ":200000000001:AKIANEW (Active)"}, nil},
		{"credentials deleted: one fix naming each control",
			[]acct{prod, sand}, []acct{prod, {id: sand.id, ou: sand.ou}},
			nil, []string{Fixed + ":200000000003:IAM.4, IAM.6, IAM.9, RG.ROOT.1"}},
		{"mfa added fixes IAM.9 only", []acct{prod, sand}, []acct{prod, {id: sand.id, ou: sand.ou, password: true, key: "AKIA3", mfa: true}},
			nil, []string{Fixed + ":200000000003:IAM.9"}},
		{"an account becoming unreadable is neither", []acct{prod, sand}, []acct{prod, {id: sand.id, ou: sand.ou, err: "AccessDenied"}}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			regs, fixes := Compare(run(days(0), tc.prev...), run(days(1), tc.cur...), StrictPaths([]string{"/Workloads/Prod"}))
			str := func(evs []notify.WeeklyEvent) []string {
				var out []string
				for _, e := range evs {
					if !e.At.Equal(days(1)) {
						t.Errorf("%+v: not at the later run", e)
					}
					out = append(out, e.Kind+":"+e.Account+":"+e.Detail)
				}
				return out
			}
			if got := str(regs); !slices.Equal(got, tc.regs) {
				t.Errorf("regressions %q, want %q", got, tc.regs)
			}
			if got := str(fixes); !slices.Equal(got, tc.fixes) {
				t.Errorf("fixes %q, want %q", got, tc.fixes)
			}
		})
	}
}

// TestTrend: a week of runs; the digest compares the newest with the
// first, and lists every regression and fix in between, also one undone
// within the week.
func TestTrend(t *testing.T) {
	a := acct{id: "200000000001", ou: "/Workloads/Prod"}
	b := acct{id: "200000000002", ou: "/Sandbox", password: true, key: "AKIA2"}
	bFixed := acct{id: b.id, ou: b.ou}
	aKey := acct{id: a.id, ou: a.ou, key: "AKIAX"}
	tr := &Trend{Strict: StrictPaths([]string{"/Workloads/Prod"})}
	tr.Add(run(days(0), a, b))
	tr.Add(run(days(2), aKey, b))      // a regression
	tr.Add(run(days(4), a, b))         // undone
	tr.Add(run(days(7), a, bFixed))    // a fix
	tr.Add(run(days(7.01), a, bFixed)) // nothing
	wk := tr.Digest()
	if wk.Now == nil || wk.Then == nil || !wk.Now.At.Equal(days(7.01)) || !wk.Then.At.Equal(days(0)) || wk.Runs != 4 {
		t.Fatalf("digest %+v", wk)
	}
	if wk.Now.WithRoot != 0 || wk.Then.WithRoot != 1 || len(wk.NeedsAction) != 0 || wk.Then.NeedingAction != 1 {
		t.Errorf("now %+v then %+v", wk.Now, wk.Then)
	}
	if len(wk.Regressions) != 1 || wk.Regressions[0].Account != a.id || !wk.Regressions[0].At.Equal(days(2)) {
		t.Errorf("regressions %+v", wk.Regressions)
	}
	var fixes []string
	for _, f := range wk.Fixes {
		fixes = append(fixes, f.Account+"@"+f.At.Format("01-02"))
	}
	if !slices.Equal(fixes, []string{a.id + "@11-27", b.id + "@11-30"}) {
		t.Errorf("fixes %v", fixes)
	}

	one := &Trend{}
	one.Add(run(days(0), a))
	if wk := one.Digest(); wk.Now == nil || wk.Then != nil || wk.Runs != 0 {
		t.Errorf("one run: %+v", wk)
	}
	if wk := (&Trend{}).Digest(); wk.Now != nil {
		t.Errorf("no run: %+v", wk)
	}
}

// BenchmarkDigest5000 measures what a digest of a week of daily runs
// costs at 5,000 accounts: decoding eight gzip-compressed runs as the
// history keeps them and comparing them two at a time (S3 left out).
//
//	go test -run XXX -bench Digest5000 -benchtime 3x ./internal/monitor/
func BenchmarkDigest5000(b *testing.B) {
	var objs [][]byte
	for d := range 8 {
		var as []acct
		for i := range 5000 {
			a := acct{id: fmt.Sprintf("2%011d", i), ou: "/Sandbox"}
			if i%10 == 0 {
				a.password, a.mfa = true, true
			}
			if i%97 == d {
				a.key = fmt.Sprintf("AKIA%012d", i)
			}
			as = append(as, a)
		}
		var buf bytes.Buffer
		if err := history.Encode(&buf, run(days(float64(d)), as...)); err != nil {
			b.Fatal(err)
		}
		objs = append(objs, buf.Bytes())
	}
	for b.Loop() {
		tr := &Trend{}
		for _, o := range objs {
			rep, err := history.Decode(bytes.NewReader(o))
			if err != nil {
				b.Fatal(err)
			}
			tr.Add(rep)
		}
		if wk := tr.Digest(); wk.Runs != 7 {
			b.Fatalf("%d runs", wk.Runs)
		}
	}
	b.ReportMetric(float64(len(objs[0]))/1e6, "MB/run")
}
