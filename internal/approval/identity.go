package approval

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Task is what an approval lets the root user do: one of the five
// root-task policies of sts:AssumeRoot, or a console sign-in of a root
// user that a flexible OU keeps.
type Task string

// Tasks.
const (
	TaskAudit             Task = "audit"
	TaskCreatePassword    Task = "create-password"
	TaskDeleteCredentials Task = "delete-credentials"
	TaskS3Unlock          Task = "s3-unlock"
	TaskSQSUnlock         Task = "sqs-unlock"
	TaskConsole           Task = "console"
)

// Tasks lists every task, in the order help texts show them.
var Tasks = []Task{TaskAudit, TaskCreatePassword, TaskDeleteCredentials, TaskS3Unlock, TaskSQSUnlock, TaskConsole}

// taskPolicies maps the session tasks to the AWS managed root-task
// policies (arn:aws:iam::aws:policy/root-task/<name>), as listed in the
// IAM User Guide, "Perform a privileged task on an AWS Organizations
// member account".
var taskPolicies = map[Task]string{
	TaskAudit:             "IAMAuditRootUserCredentials",
	TaskCreatePassword:    "IAMCreateRootUserPassword",
	TaskDeleteCredentials: "IAMDeleteRootUserCredentials",
	TaskS3Unlock:          "S3UnlockBucketPolicy",
	TaskSQSUnlock:         "SQSUnlockQueuePolicy",
}

// ParseTask returns the task named s.
func ParseTask(s string) (Task, error) {
	t := Task(strings.TrimSpace(s))
	if slices.Contains(Tasks, t) {
		return t, nil
	}
	names := make([]string, len(Tasks))
	for i, t := range Tasks {
		names[i] = string(t)
	}
	return "", fmt.Errorf("task %q: want one of %s", s, strings.Join(names, ", "))
}

// TaskPolicy returns the short name of the root-task policy a session for
// the task is opened with (IAMAuditRootUserCredentials, ...); "" for the
// console task, which opens no session.
func (t Task) TaskPolicy() string { return taskPolicies[t] }

// TaskOfPolicy returns the task whose root-task policy is name (its short
// name or its ARN), or "".
func TaskOfPolicy(name string) Task {
	name = name[strings.LastIndex(name, "/")+1:]
	for t, p := range taskPolicies {
		if p == name {
			return t
		}
	}
	return ""
}

// Pattern matches principal ARNs as IAM's ArnLike does: '*' matches any
// run of characters (also '/' and ':'), '?' any one character, the rest
// literally and with case.
type Pattern struct {
	text string
	re   *regexp.Regexp
}

// ParsePattern reads an approver pattern: a principal ARN
// (arn:aws:iam::111111111111:user/alice), a role session pattern
// (arn:aws:sts::*:assumed-role/SecurityApprover/*) or an IAM Identity
// Center permission-set role pattern
// (arn:aws:sts::*:assumed-role/AWSReservedSSO_SecurityApprover_*/*).
func ParsePattern(s string) (Pattern, error) {
	s = strings.TrimSpace(s)
	parts := strings.SplitN(s, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || (parts[2] != "iam" && parts[2] != "sts" && parts[2] != "*") || parts[5] == "" {
		return Pattern{}, fmt.Errorf("approver %q: want a principal ARN pattern such as arn:aws:sts::*:assumed-role/AWSReservedSSO_SecurityApprover_*/*", s)
	}
	// "*", or "*/*": every principal ARN's resource is a type and a name
	// with a '/' between (user/alice, assumed-role/r/s), so a resource of
	// wildcards and slashes alone matches every principal.
	if strings.Trim(parts[5], "*?/") == "" {
		return Pattern{}, fmt.Errorf("approver %q: matches every principal", s)
	}
	var b strings.Builder
	b.WriteString("^")
	for _, r := range s {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return Pattern{text: s, re: regexp.MustCompile(b.String())}, nil
}

// String returns the pattern as written.
func (p Pattern) String() string { return p.text }

// Match reports whether a principal ARN matches the pattern.
func (p Pattern) Match(arn string) bool { return p.re != nil && p.re.MatchString(arn) }

// Approvers is the list of principals who may approve root use.
type Approvers []Pattern

// ParseApprovers reads a list of patterns; every bad one is reported.
func ParseApprovers(ss []string) (Approvers, error) {
	var out Approvers
	var errs []error
	for _, s := range ss {
		if strings.TrimSpace(s) == "" {
			continue
		}
		p, err := ParsePattern(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	return out, errors.Join(errs...)
}

// Match returns the first pattern an ARN matches, and whether one did.
func (as Approvers) Match(arn string) (Pattern, bool) {
	for _, p := range as {
		if p.Match(arn) {
			return p, true
		}
	}
	return Pattern{}, false
}

// ssoRolePrefix starts the names of the roles IAM Identity Center creates
// for permission sets (AWSReservedSSO_<PermissionSet>_<hex>); their role
// session name is the Identity Center user name.
const ssoRolePrefix = "AWSReservedSSO_"

// SamePerson reports whether two principal ARNs are one person: the same
// ARN (ignoring case), or the same IAM Identity Center user (session
// name) in two permission-set roles, since one person may hold both a
// requester's and an approver's permission set.
func SamePerson(a, b string) bool {
	if strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b)) {
		return true
	}
	ra, sa, okA := assumedRole(a)
	rb, sb, okB := assumedRole(b)
	return okA && okB && strings.HasPrefix(ra, ssoRolePrefix) && strings.HasPrefix(rb, ssoRolePrefix) && strings.EqualFold(sa, sb)
}

// assumedRole splits arn:aws:sts::<account>:assumed-role/<role>/<session>.
func assumedRole(arn string) (role, session string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[2] != "sts" {
		return "", "", false
	}
	rest, ok := strings.CutPrefix(parts[5], "assumed-role/")
	if !ok {
		return "", "", false
	}
	role, session, ok = strings.Cut(rest, "/")
	return role, session, ok && role != "" && session != ""
}
