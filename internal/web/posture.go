package web

import (
	"slices"

	"github.com/rootguard/rootguard/internal/audit"
)

// RootState is what an account's root user holds, as the overview counts
// it. Each account is in exactly one state; the first that applies wins:
// not read, access keys present, no MFA, virtual MFA only, hardware MFA
// (a hardware token or a passkey), no credentials.
type RootState string

// The states, worst first.
const (
	StateUnread      RootState = "unread"
	StateKeys        RootState = "keys"
	StateNoMFA       RootState = "no-mfa"
	StateVirtualMFA  RootState = "virtual-mfa"
	StateHardwareMFA RootState = "hardware-mfa"
	StateNone        RootState = "no-credentials"
)

// States lists the states in the order the pages show them: the goal
// first, the worst last.
var States = []RootState{StateNone, StateHardwareMFA, StateVirtualMFA, StateNoMFA, StateKeys, StateUnread}

// StateOf classifies an account's root user.
func StateOf(a *audit.Account) RootState {
	r := a.Root
	switch {
	case r == nil:
		return StateUnread
	case len(r.AccessKeys) > 0:
		return StateKeys
	case !r.HasCredentials():
		return StateNone
	case len(r.MFADevices) == 0:
		return StateNoMFA
	}
	for _, d := range r.MFADevices {
		if d.Kind != audit.MFAVirtual && d.Kind != "unknown" {
			return StateHardwareMFA
		}
	}
	return StateVirtualMFA
}

// Level is how bad an account's worst control is; the tree colours
// accounts by it.
type Level string

// The levels, best first.
const (
	LevelPass     Level = "pass"
	LevelUnknown  Level = "unknown"
	LevelLow      Level = "low"
	LevelMedium   Level = "medium"
	LevelHigh     Level = "high"
	LevelCritical Level = "critical"
)

// Levels lists the levels worst first, as the legend shows them.
var Levels = []Level{LevelCritical, LevelHigh, LevelMedium, LevelLow, LevelUnknown, LevelPass}

func (l Level) rank() int { return len(Levels) - slices.Index(Levels, l) }

// controlLevel is the level a failed control gives its account. Root
// access keys are long-lived credentials anyone holding them can use;
// root without MFA is one password away; a root-deny SCP without the
// aws:AssumedRoot exemption breaks centralized root sessions; recent use
// and virtual-only MFA need a look; leftover credentials matter only for
// strict mode. A control this table does not know is medium.
var controlLevel = map[string]Level{
	audit.CtlNoAccessKeys:    LevelCritical,
	audit.CtlRootMFA:         LevelHigh,
	audit.CtlSCPRootSessions: LevelHigh,
	audit.CtlNotUsedRecently: LevelMedium,
	audit.CtlHardwareMFA:     LevelMedium,
	audit.CtlCredentialsGone: LevelLow,
}

// LevelOfControl is the level a failed control id gives.
func LevelOfControl(id string) Level {
	if l, ok := controlLevel[id]; ok {
		return l
	}
	return LevelMedium
}

// WorstOf is an account's level and the control that set it ("" when
// every control passed or does not apply). An account that could not be
// read is unknown.
func WorstOf(a *audit.Account) (Level, string) {
	worst, by := LevelPass, ""
	for _, c := range a.Controls {
		l := LevelPass
		switch c.Outcome {
		case audit.Fail:
			l = LevelOfControl(c.ID)
		case audit.Unknown:
			l = LevelUnknown
		}
		if l.rank() > worst.rank() {
			worst, by = l, c.ID
		}
	}
	if a.Error != "" && worst.rank() < LevelUnknown.rank() {
		worst = LevelUnknown
	}
	return worst, by
}

// accountControls are the per-account controls in report order.
func accountControls() []audit.ControlInfo {
	var out []audit.ControlInfo
	for _, c := range audit.Controls {
		if !c.OrgLevel {
			out = append(out, c)
		}
	}
	return out
}

// failedIDs lists an account's failed controls in report order.
func failedIDs(a *audit.Account) []string {
	var out []string
	for _, c := range a.Controls {
		if c.Outcome == audit.Fail {
			out = append(out, c.ID)
		}
	}
	return out
}
