package deploy

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzValidate: deploy's flags (--org-id, --audit-account, --regions,
// --ou, --language, --audit-schedule, --strict-ou) are checked before
// anything is read or changed: a value is accepted only in the form AWS
// takes, and every bad one is quoted in the error, so a deployment never
// fails half-way on a value it could have refused at once.
func FuzzValidate(f *testing.F) {
	f.Add("o-exampleorg1", "123456789012", "eu-west-1", "ou-ex12-workload", "en", "rate(1 day)", "Root/Workloads/Prod")
	f.Add("o-x", "12345678901", "eu-west1", "ou-", "fr", "rate(0 days)", "Root/A,Root/B")
	f.Add("o-exampleorg1", "123456789012", "us-gov-west-1", "r-ab12", "both", "cron(0 3 ? * MON *)", "")
	f.Add("o-exampleorg1", "123456789012", "eu-west-1", "ou-ex12-workload", "ja", "cron(x)", "Root")
	f.Add("o-exampleorg1", "123456789012", "eu-west-1", "ou-ex12-workload", "ja", "cron(0 3 ? * MON *\n)", "Root")
	f.Add("o-exampleorg1", "123456789012", "eu-west-1", "ou-ex12-workload", "ja", "rate(1 fortnight)", "Root")
	f.Fuzz(func(t *testing.T, org, account, region, ou, lang, schedule, strictOU string) {
		c := testConfig()
		c.OrganizationID, c.AuditAccountID, c.Regions, c.OUs = org, account, []string{region}, []string{ou}
		c.Language, c.AuditSchedule, c.StrictOUs = lang, schedule, []string{strictOU}
		err := c.Validate()
		if err != nil {
			msg := err.Error()
			for _, bad := range []struct {
				ok    bool
				value string
			}{
				{reOrg().MatchString(org), org}, {reAccount().MatchString(account), account}, {reRegion().MatchString(region), region},
				{reOU().MatchString(ou), ou}, {schedule == "" || reSchedule().MatchString(schedule), schedule},
			} {
				if !bad.ok && !strings.Contains(msg, fmt.Sprintf("%q", bad.value)) {
					t.Fatalf("error %q does not quote the bad value %q", msg, bad.value)
				}
			}
			return
		}
		if len(account) != 12 || strings.Trim(account, "0123456789") != "" || strings.ContainsAny(region+ou+org, " \n\t/") {
			t.Fatalf("accepted %q %q %q %q", org, account, region, ou)
		}
		if schedule != "" {
			name, args, _ := strings.Cut(strings.TrimSuffix(schedule, ")"), "(")
			switch fields := strings.Split(args, " "); name {
			case "rate":
				if len(fields) != 2 || fields[0] == "0" || strings.HasPrefix(fields[0], "0") {
					t.Fatalf("schedule %q accepted: a rate is a positive integer and a unit", schedule)
				}
			case "cron":
				if len(fields) != 6 {
					t.Fatalf("schedule %q accepted: a cron expression has six fields", schedule)
				}
			default:
				t.Fatalf("schedule %q accepted", schedule)
			}
		}
		if strictOU == "" || strings.Contains(strictOU, ",") {
			t.Fatalf("strict OU %q accepted", strictOU)
		}
	})
}
