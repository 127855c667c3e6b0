package cli

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootguard/rootguard/internal/testenv"
)

// useLocalAWS points the SDK's standard configuration at local servers
// through the environment, as a user would with AWS_ENDPOINT_URL_<SERVICE>.
func useLocalAWS(t *testing.T, endpoints map[string]string) {
	t.Helper()
	for svc, url := range endpoints {
		t.Setenv("AWS_ENDPOINT_URL_"+svc, url)
	}
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIATESTENV000000000", "AWS_SECRET_ACCESS_KEY": "testenv-secret", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": testenv.Region, "AWS_PROFILE": "", "AWS_ENDPOINT_URL": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"ROOTGUARD_TABLE": "", "TOPIC_ARN": "", "CHATBOT_TOPIC_ARN": "",
	} {
		t.Setenv(k, v)
	}
}

// TestApprovalCommands runs grant, list, revoke and import against
// dynalite through the SDK's standard configuration.
func TestApprovalCommands(t *testing.T) {
	startApprovalEnv(t)
	from := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	until := from.Add(3 * time.Hour)
	grant := []string{"approval", "grant", "--table", "rootguard", "--id", "CHG-1234", "--account", "333333333333",
		"--from", from.Format(time.RFC3339), "--until", until.Format(time.RFC3339),
		"--requester", "sato", "--approver", "ccoe-lead", "--reason", "enable MFA Delete on the archive bucket"}

	t.Run("grant", func(t *testing.T) {
		out, errOut, code := runMain(t, append(grant, "-o", "json")...)
		if code != ExitOK {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
		var got struct {
			ID, Account, Requester, Approver, Reason, Status string
			From, Until                                      time.Time
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if got.ID != "CHG-1234" || got.Account != "333333333333" || got.Status != "active" || !got.From.Equal(from) ||
			!got.Until.Equal(until) || got.Approver != "ccoe-lead" {
			t.Errorf("granted %+v", got)
		}
		// The same grant again changes nothing and says so.
		if _, errOut, code := runMain(t, grant...); code != ExitOK || !strings.Contains(errOut, "already in rootguard with the same contents") {
			t.Errorf("again: exit %d\n%s", code, errOut)
		}
	})
	t.Run("grant refused", func(t *testing.T) {
		tests := []struct {
			name string
			args []string
			code int
			want string
		}{
			// grant's own flags: TestApprovalGrantFlagRefusals.
			{"no table", []string{"approval", "list", "--table", ""}, ExitUsage, "no table"},
			{"id taken", []string{"approval", "grant", "--table", "rootguard", "--id", "CHG-1234", "--account", "444444444444",
				"--for", "1h", "--requester", "sato", "--approver", "ccoe-lead", "--reason", "x"}, ExitError, "already exists with other contents"},
		}
		for _, tt := range tests {
			if _, errOut, code := runMain(t, tt.args...); code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("%s: exit %d, want %d and %q\n%s", tt.name, code, tt.code, tt.want, errOut)
			}
		}
		out, errOut, code := runMain(t, "approval", "grant", "--table", "rootguard", "--id", "CHG-LONG", "--account", "444444444444",
			"--for", "72h", "--force", "--requester", "sato", "--approver", "ccoe-lead", "--reason", "migration", "-o", "csv")
		if code != ExitOK || !strings.HasPrefix(out, "id,account,task,from,until,status,requester,approver,sessions,reason\nCHG-LONG,444444444444,any,") {
			t.Errorf("--force: exit %d\n%s%s", code, out, errOut)
		}
	})
	t.Run("import", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "approvals.yaml")
		yaml := `approvals:
  - id: CHG-1234
    account: "333333333333"
    from: ` + from.Format(time.RFC3339) + `
    until: ` + until.Format(time.RFC3339) + `
    requester: sato
    approver: ccoe-lead
    reason: enable MFA Delete on the archive bucket
  - id: CHG-2000
    account: "555555555555"
    from: 2026-10-08T01:00:00Z
    until: 2026-10-08T02:00:00Z
    requester: tanaka
    approver: ccoe-lead
    reason: unlock the queue policy
`
		if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := runMain(t, "approval", "import", "--table", "rootguard", file)
		want := "ID\tACCOUNT\tFROM\tUNTIL\tRESULT\nCHG-1234\t333333333333\t" + from.Format(time.RFC3339) + "\t" + until.Format(time.RFC3339) +
			"\tunchanged\nCHG-2000\t555555555555\t2026-10-08T01:00:00Z\t2026-10-08T02:00:00Z\tcreated\n"
		if code != ExitOK || out != want {
			t.Errorf("import: exit %d\n%s\nwant\n%s\n%s", code, out, want, errOut)
		}
		// An invalid file writes nothing and names every bad entry.
		bad := strings.Replace(yaml, "approver: ccoe-lead\n    reason: unlock", "approver: tanaka\n    reason: unlock", 1)
		bad = strings.Replace(bad, "CHG-2000", "CHG-3000", 1)
		bad = strings.Replace(bad, `"333333333333"`, `"3333"`, 1)
		if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		_, errOut, code = runMain(t, "approval", "import", "--table", "rootguard", file)
		if code != ExitUsage || !strings.Contains(errOut, "approval 1 (CHG-1234): account") || !strings.Contains(errOut, "approval 2 (CHG-3000): approver: must differ") {
			t.Errorf("invalid file: exit %d\n%s", code, errOut)
		}
	})
	t.Run("list and revoke", func(t *testing.T) {
		out, errOut, code := runMain(t, "approval", "list", "--table", "rootguard")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		// CHG-2000 (2026-10-08) has ended: listed with --all only.
		if code != ExitOK || len(lines) != 3 || !strings.HasPrefix(lines[1], "CHG-1234\t333333333333\t") || !strings.HasPrefix(lines[2], "CHG-LONG\t") {
			t.Fatalf("list: exit %d\n%s%s", code, out, errOut)
		}
		out, _, _ = runMain(t, "approval", "list", "--table", "rootguard", "--all", "--account", "555555555555", "-o", "json")
		if !strings.Contains(out, `"id":"CHG-2000"`) || !strings.Contains(out, `"status":"expired"`) {
			t.Errorf("list --all --account:\n%s", out)
		}
		out, errOut, code = runMain(t, "approval", "revoke", "--table", "rootguard", "CHG-1234", "-o", "json")
		if code != ExitOK || !strings.Contains(out, `"status":"revoked"`) || !strings.Contains(out, `"revokedBy":"arn:aws:iam::111111111111:user/`) {
			t.Errorf("revoke: exit %d\n%s%s", code, out, errOut)
		}
		out, _, _ = runMain(t, "approval", "list", "--table", "rootguard", "--account", "333333333333")
		if strings.Contains(out, "CHG-1234") {
			t.Errorf("a revoked approval is listed without --all:\n%s", out)
		}
		if _, errOut, code := runMain(t, "approval", "revoke", "--table", "rootguard", "CHG-404"); code != ExitError || !strings.Contains(errOut, "no such approval") {
			t.Errorf("revoke unknown: exit %d\n%s", code, errOut)
		}
	})
}

// TestApprovalGrantFlagRefusals: each refusal of grant's own flags is one
// line naming the flag and saying nothing was recorded, exit 2, as
// request's are (not the approvals file's two-line message, which import
// keeps), and the table is left empty. request refuses the same window
// flags in the same lines.
func TestApprovalGrantFlagRefusals(t *testing.T) {
	e := startApprovalEnv(t)
	valid := map[string][][2]string{
		"grant": {{"--id", "CHG-9"}, {"--account", "333333333333"}, {"--for", "1h"},
			{"--requester", "sato"}, {"--approver", "ccoe-lead"}, {"--reason", "enable MFA Delete"}},
		"request": {{"--id", "CHG-9"}, {"--account", "333333333333"}, {"--for", "1h"},
			{"--task", "console"}, {"--reason", "enable MFA Delete"}},
	}
	for _, tt := range []struct {
		name   string
		window bool              // a refusal request shares
		set    map[string]string // flag: value, "-" leaves the flag out
		want   string
	}{
		{"no id", false, map[string]string{"--id": "-"},
			"--id: missing: give the approval's id, e.g. the change ticket; nothing was recorded"},
		{"blank id", false, map[string]string{"--id": "  "},
			"--id: missing: give the approval's id, e.g. the change ticket; nothing was recorded"},
		{"malformed account", false, map[string]string{"--account": "12345"},
			"--account: remediate: target 12345: not a 12-digit account id; nothing was recorded"},
		{"from not a time", true, map[string]string{"--from": "yesterday"},
			`--from "yesterday": want an RFC 3339 time; nothing was recorded`},
		{"until not a time", true, map[string]string{"--for": "-", "--until": "soon"},
			`--until "soon": want an RFC 3339 time; nothing was recorded`},
		{"for not a duration", true, map[string]string{"--for": "0"},
			`--for "0": want a duration such as 2h; nothing was recorded`},
		{"no end", true, map[string]string{"--for": "-"},
			"give --until or --for; nothing was recorded"},
		{"until and for", true, map[string]string{"--until": "2026-10-08T03:00:00Z"},
			"give --until or --for, not both; nothing was recorded"},
		{"zero from", true, map[string]string{"--from": "0001-01-01T00:00:00Z"},
			`--from: "0001-01-01T00:00:00Z" is the zero time, no start; nothing was recorded`},
		{"until before from", true, map[string]string{"--for": "-", "--from": "2026-10-08T03:00:00Z", "--until": "2026-10-08T01:00:00Z"},
			"--until: the window must end after it starts (2026-10-08T03:00:00Z); nothing was recorded"},
		{"for over 24h", true, map[string]string{"--for": "25h"},
			"--for: a window of 25h0m0s is longer than 24h (use --force); nothing was recorded"},
		{"until over 24h", true, map[string]string{"--for": "-", "--from": "2026-10-08T01:00:00Z", "--until": "2026-10-09T02:00:00Z"},
			"--until: a window of 25h0m0s is longer than 24h (use --force); nothing was recorded"},
		{"no requester", false, map[string]string{"--requester": "-"},
			"--requester: missing: say who asked for root use; nothing was recorded"},
		{"blank approver", false, map[string]string{"--approver": " "},
			"--approver: missing: say who approved it; nothing was recorded"},
		{"approver is requester", false, map[string]string{"--approver": " Sato"},
			`--approver: " Sato" must differ from the requester ("sato"); nothing was recorded`},
	} {
		for _, verb := range []string{"grant", "request"} {
			if verb == "request" && !tt.window {
				continue
			}
			t.Run(verb+" "+tt.name, func(t *testing.T) {
				args := []string{"approval", verb}
				set := maps.Clone(tt.set)
				for _, f := range valid[verb] {
					if v, ok := set[f[0]]; ok {
						f[1] = v
						delete(set, f[0])
					}
					if f[1] != "-" {
						args = append(args, f[0], f[1])
					}
				}
				for _, f := range slices.Sorted(maps.Keys(set)) {
					args = append(args, f, set[f])
				}
				out, errOut, code := runMain(t, args...)
				if lines := errorLines(errOut); code != ExitUsage || len(lines) != 1 || lines[0] != "rootguard: "+tt.want || out != "" {
					t.Errorf("%v: exit %d, want 2 and the one line\nrootguard: %s\ngot:\n%s%s", args[2:], code, tt.want, out, errOut)
				}
				items, err := e.db.Client.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String("rootguard"), Select: types.SelectCount})
				if err != nil {
					t.Fatal(err)
				}
				if items.Count != 0 {
					t.Errorf("the table holds %d items, want none", items.Count)
				}
				if msgs := e.queue.Receive(t, 0); len(msgs) != 0 {
					t.Errorf("told the topic: %+v", msgs)
				}
			})
		}
	}

	// A blank --id is no id: request names the request itself.
	out, errOut, code := runMain(t, "approval", "request", "--id", " ", "--account", "333333333333", "--task", "console",
		"--for", "1h", "--reason", "enable MFA Delete", "-o", "json")
	if a := decodeApproval(t, out); code != ExitOK || !strings.HasPrefix(a.ID, "R-") {
		t.Errorf("request --id ' ': exit %d, id %q, want a new R-... id\n%s", code, a.ID, errOut)
	}
}
