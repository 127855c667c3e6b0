// Package alert is the real-time pipeline's handler: it turns one
// EventBridge event (a CloudTrail record or a GuardDuty finding) into an
// SNS alert, independent of the Lambda runtime that calls it
// (cmd/rootguard-lambda).
//
// For each event, [Handler.Handle]:
//
//   - classifies it with internal/detect, the rules the scanner uses, and
//     drops (logs and counts) what is not root activity;
//   - de-duplicates it: EventBridge delivers at least once and Lambda
//     retries failed invocations, so a DynamoDB item per event
//     (delivery#<eventId>) records that its alert went out, and a
//     redelivered event produces nothing (see Handle for the order of
//     work that keeps a failure from swallowing an alert);
//   - remembers root sessions issued by sts:AssumeRoot and joins the
//     member account's actions to them by the issued access key, with
//     whether the task policy allows each action;
//   - joins it to the approval that covers it (approvals live in the same
//     table, written by `rootguard approval` and `rootguard root session`):
//     by the root session's access key, else by principal, account, task
//     and time; or to the deployment's standing approval of the scheduled
//     audit; and judges it (approved, unapproved, used outside its window,
//     not valid, emergency) — see Handler.decide for what pages;
//   - alerts on its own what notify.Decide says must be (a session
//     starting, high-risk actions), enriched with the account's name,
//     email and OU path from Organizations (cached; a failed lookup still
//     alerts, with the raw account id); the rest of a session's actions
//     are accumulated and sent as one summary (see [SummaryPolicy]);
//   - publishes to an SNS topic (subject, plain-text body, String message
//     attributes for filter policies) and optionally to a second topic
//     that AWS Chatbot subscribes to (the Chatbot JSON alone).
//
// Any DynamoDB or SNS failure fails the invocation, so that it is retried
// and finally dead-lettered: an alert is never lost. The table's layout is
// documented on [Table].
package alert
