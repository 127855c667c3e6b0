package deploy

import (
	"github.com/awslabs/goformation/v7/cloudformation"
)

// ParamDigestSchedule is the EventBridge Scheduler expression of the
// weekly digest (rate(...) or cron(...)), or DigestOff.
const ParamDigestSchedule = "DigestSchedule"

// DefaultDigestSchedule sends the weekly digest on Mondays at 00:00 UTC
// (09:00 in Tokyo).
const DefaultDigestSchedule = "cron(0 0 ? * MON *)"

// DigestOff as the digest schedule creates no digest schedule.
const DigestOff = "off"

// digestScheduleInput is what the digest schedule sends the audit
// function (monitor.DigestCommand).
const digestScheduleInput = `{"rootguard":"digest"}`

// hasDigest is the condition HasDigest: DigestSchedule is not "off".
var hasDigest = map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": ParamDigestSchedule}, DigestOff}}}}

// addWeeklyDigest adds the weekly digest to the audit template: a second
// schedule that sends the scheduled audit's function the digest input,
// through the same scheduler role, retry policy and dead-letter queue.
// The function reads the week's runs from the history bucket and
// publishes one message on the alert topic: it needs no permission the
// scheduled audit does not already have.
func addWeeklyDigest(t *cloudformation.Template) {
	t.Parameters[ParamDigestSchedule] = cloudformation.Parameter{Type: "String", Default: DefaultDigestSchedule,
		Description:    str("When the weekly digest of the scheduled audit's history is published: an EventBridge Scheduler rate() or cron() expression (UTC), or off."),
		AllowedPattern: str(`^((rate|cron)\(.+\)|off)$`), ConstraintDescription: str("rate(...), cron(...) or off")}
	t.Conditions["HasDigest"] = hasDigest
	digest := auditFunctionSchedule("rootguard: starts the weekly digest of the scheduled audit's history", ParamDigestSchedule, digestScheduleInput)
	digest.AWSCloudFormationCondition = "HasDigest"
	t.Resources["DigestRunSchedule"] = digest
}
