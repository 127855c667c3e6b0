package detect

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestMayMatchCoversClassify holds MayMatch to Classify: for every mix of
// the five values it reads (every source, name and event type a rule
// names, root and other identities, people and services acting as root),
// an event Classify reports is never one MayMatch rules out; and the
// bulk of an organization trail (other identities, services acting as
// root, AWS service events) is ruled out.
func TestMayMatchCoversClassify(t *testing.T) {
	sources := []string{"", "s3.amazonaws.com", "ec2.amazonaws.com"}
	names := []string{"", "ListBuckets", "GetObject"}
	eventTypes := []string{"", "AwsApiCall", "AwsConsoleAction", "AwsServiceEvent"}
	for _, r := range Rules {
		sources = append(sources, r.Sources...)
		names = append(names, r.Names...)
		eventTypes = append(eventTypes, r.EventTypes...)
	}
	types := []string{"", "Root", "IAMUser", "AssumedRole", "AWSService", "root"}
	invokers := []string{"", "signin.amazonaws.com", "console.amazonaws.com", "lambda.amazonaws.com", "AWS Internal"}
	reported, ruledOut := 0, 0
	for _, typ := range types {
		for _, inv := range invokers {
			for _, et := range eventTypes {
				for _, src := range sources {
					for _, name := range names {
						e := Event{UserIdentity: UserIdentity{Type: typ, InvokedBy: inv}, EventType: et, EventSource: src, EventName: name}
						may := MayMatch([]byte(typ), []byte(inv), []byte(et), []byte(src), []byte(name))
						if Classify(&e) != nil {
							reported++
							if !may {
								t.Fatalf("type %q invokedBy %q eventType %q %s:%s: Classify reports it, MayMatch rules it out", typ, inv, et, src, name)
							}
						}
						if !may {
							ruledOut++
						}
					}
				}
			}
		}
	}
	if reported == 0 || ruledOut == 0 {
		t.Fatalf("grid proves nothing: %d reported, %d ruled out", reported, ruledOut)
	}
	for _, tt := range []struct {
		typ, inv, et, src, name string
		want                    bool
	}{
		{"Root", "", "AwsApiCall", "s3.amazonaws.com", "ListBuckets", true},
		{"Root", "signin.amazonaws.com", "AwsConsoleSignIn", "signin.amazonaws.com", "ConsoleLogin", true},
		{"Root", "elasticloadbalancing.amazonaws.com", "AwsApiCall", "s3.amazonaws.com", "PutObject", false},
		{"Root", "", "AwsServiceEvent", "s3.amazonaws.com", "PutObject", false},
		{"AssumedRole", "", "AwsApiCall", "s3.amazonaws.com", "ListBuckets", false},
		{"AssumedRole", "", "AwsApiCall", "sts.amazonaws.com", "AssumeRoot", true},
		{"AssumedRole", "", "AwsApiCall", "account.amazonaws.com", "AcceptPrimaryEmailUpdate", true},
		{"", "", "", "", "", false},
	} {
		if got := MayMatch([]byte(tt.typ), []byte(tt.inv), []byte(tt.et), []byte(tt.src), []byte(tt.name)); got != tt.want {
			t.Errorf("MayMatch(%q, %q, %q, %q, %q) = %v, want %v", tt.typ, tt.inv, tt.et, tt.src, tt.name, got, tt.want)
		}
	}
}

// TestMayMatchRuleFixtures: every hit fixture of every rule passes MayMatch.
func TestMayMatchRuleFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "rules", "*", "hit-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no hit fixtures: %v", err)
	}
	checked := 0
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var e Event
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if Classify(&e) == nil {
			continue
		}
		checked++
		if !MayMatch([]byte(e.UserIdentity.Type), []byte(e.UserIdentity.InvokedBy), []byte(e.EventType), []byte(e.EventSource), []byte(e.EventName)) {
			t.Errorf("%s: a hit that MayMatch rules out", p)
		}
	}
	if checked == 0 {
		t.Fatal("no hit fixture is classified")
	}
}
