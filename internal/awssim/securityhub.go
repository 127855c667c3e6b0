package awssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Security Hub's finding-provider rules, from AWS's documents
// (testdata/securityhub-findings.md lists them with their sources):
//
//   - BatchImportFindings takes 1 to 100 findings; with the default product
//     ARN the caller's account must be the finding's AwsAccountId.
//   - A finding whose Id (within its product) is new is created. One whose
//     Id exists is updated only when its UpdatedAt is later than the
//     stored one; otherwise the update is ignored.
//   - An update never changes Note, UserDefinedFields, VerificationState or
//     Workflow. Workflow.Status goes back to NEW from NOTIFIED or RESOLVED
//     when RecordState changes from ARCHIVED to ACTIVE, or when
//     Compliance.Status changes from PASSED to WARNING, FAILED or
//     NOT_AVAILABLE.
//   - Values in FindingProviderFields (Severity, Types, ...) are copied to
//     the top-level attributes; a top-level value alone is copied into
//     FindingProviderFields.
//   - GetFindings returns findings matching every filter given, at most
//     100 a page (MaxResults), with a NextToken for the rest.
var securityHubOps = map[string]handler{
	"BatchImportFindings": batchImportFindings,
	"GetFindings":         getFindings,
}

// securityHubRoute names the operation of a restJson1 request.
func securityHubRoute(method, path string) string {
	switch {
	case method == http.MethodPost && path == "/findings/import":
		return "BatchImportFindings"
	case method == http.MethodPost && path == "/findings":
		return "GetFindings"
	}
	return method + " " + path
}

type importFailure struct {
	Id, ErrorCode, ErrorMessage string
}

// batchImportFindings takes up to 100 ASFF findings. Each must carry the
// fields ASFF requires and a product ARN the caller may import to (its own
// account's default product in its region); a finding that fails is
// listed in FailedFindings and the others are kept, as AWS does.
func batchImportFindings(c *call) (any, *apiError) {
	var in struct {
		Findings []json.RawMessage
	}
	if err := json.Unmarshal(c.body, &in); err != nil {
		return nil, errf(http.StatusBadRequest, "InvalidInputException", "awssim: %v", err)
	}
	if len(in.Findings) == 0 || len(in.Findings) > 100 {
		return nil, errf(http.StatusBadRequest, "InvalidInputException", "Findings must hold between 1 and 100 findings, not %d", len(in.Findings))
	}
	success := 0
	failed := []importFailure{}
	for _, raw := range in.Findings {
		var f struct {
			SchemaVersion, Id, ProductArn, GeneratorId, AwsAccountId string
			CreatedAt, UpdatedAt, Title, Description                 string
			Types                                                    []string
			Resources                                                []struct{ Type, Id string }
			Severity                                                 *struct{ Label string }
			FindingProviderFields                                    *struct {
				Severity *struct{ Label string }
				Types    []string
			}
		}
		if err := json.Unmarshal(raw, &f); err != nil {
			failed = append(failed, importFailure{ErrorCode: "InvalidInput", ErrorMessage: err.Error()})
			continue
		}
		var missing []string
		for name, v := range map[string]string{"SchemaVersion": f.SchemaVersion, "Id": f.Id, "ProductArn": f.ProductArn,
			"GeneratorId": f.GeneratorId, "AwsAccountId": f.AwsAccountId, "CreatedAt": f.CreatedAt, "UpdatedAt": f.UpdatedAt,
			"Title": f.Title, "Description": f.Description} {
			if v == "" {
				missing = append(missing, name)
			}
		}
		if len(f.Resources) == 0 {
			missing = append(missing, "Resources")
		}
		fpf := f.FindingProviderFields
		if (f.Severity == nil || f.Severity.Label == "") && (fpf == nil || fpf.Severity == nil || fpf.Severity.Label == "") {
			missing = append(missing, "Severity.Label")
		}
		if len(f.Types) == 0 && (fpf == nil || len(fpf.Types) == 0) {
			missing = append(missing, "Types")
		}
		slices.Sort(missing)
		switch {
		case len(missing) > 0:
			failed = append(failed, importFailure{Id: f.Id, ErrorCode: "InvalidInput", ErrorMessage: "Finding does not adhere to Amazon Finding Format. Missing: " + strings.Join(missing, ", ")})
		case f.SchemaVersion != "2018-10-08":
			failed = append(failed, importFailure{Id: f.Id, ErrorCode: "InvalidInput", ErrorMessage: "SchemaVersion must be 2018-10-08"})
		case f.ProductArn != fmt.Sprintf("arn:aws:securityhub:%s:%s:product/%s/default", c.region, c.p.account, c.p.account):
			failed = append(failed, importFailure{Id: f.Id, ErrorCode: "AccessDeniedException", ErrorMessage: "The caller may not import findings to product " + f.ProductArn})
		case f.AwsAccountId != c.p.account:
			failed = append(failed, importFailure{Id: f.Id, ErrorCode: "AccessDeniedException",
				ErrorMessage: fmt.Sprintf("AwsAccountId %s is not the calling account %s: the default product imports only the caller's own findings", f.AwsAccountId, c.p.account)})
		default:
			if err := c.s.storeFinding(f.ProductArn+"/"+f.Id, raw); err != nil {
				failed = append(failed, importFailure{Id: f.Id, ErrorCode: "InvalidInput", ErrorMessage: err.Error()})
				continue
			}
			success++
		}
	}
	return map[string]any{"FailedCount": len(failed), "SuccessCount": success, "FailedFindings": failed}, nil
}

// restrictedOnUpdate are the attributes BatchImportFindings never changes
// on an existing finding.
var restrictedOnUpdate = []string{"Note", "UserDefinedFields", "VerificationState", "Workflow"}

// fromProviderFields are the attributes FindingProviderFields carries.
var fromProviderFields = []string{"Confidence", "Criticality", "RelatedFindings", "Severity", "Types"}

// storeFinding creates or updates one finding by the documented rules. The
// caller holds s.mu, as every handler does.
func (s *Server) storeFinding(key string, raw json.RawMessage) error {
	var in map[string]any
	if err := json.Unmarshal(raw, &in); err != nil {
		return err
	}
	fpf, _ := in["FindingProviderFields"].(map[string]any)
	if fpf == nil {
		fpf = map[string]any{}
	}
	for _, k := range fromProviderFields {
		if v, ok := fpf[k]; ok {
			in[k] = v
		} else if v, ok := in[k]; ok {
			fpf[k] = v
		}
	}
	in["FindingProviderFields"] = fpf
	old, exists := s.findings[key]
	if !exists {
		if _, ok := in["Workflow"]; !ok {
			in["Workflow"] = map[string]any{"Status": "NEW"}
		}
		if _, ok := in["RecordState"]; !ok {
			in["RecordState"] = "ACTIVE"
		}
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		s.findings[key] = b
		return nil
	}
	var prev map[string]any
	if err := json.Unmarshal(old, &prev); err != nil {
		return err
	}
	if str(in["UpdatedAt"]) <= str(prev["UpdatedAt"]) {
		return nil // ignored, as AWS does
	}
	for _, k := range restrictedOnUpdate {
		if v, ok := prev[k]; ok {
			in[k] = v
		} else {
			delete(in, k)
		}
	}
	if _, ok := in["RecordState"]; !ok {
		in["RecordState"] = prev["RecordState"]
	}
	reopened := str(prev["RecordState"]) == "ARCHIVED" && str(in["RecordState"]) == "ACTIVE"
	prevCompliance, newCompliance := nestedStatus(prev["Compliance"]), nestedStatus(in["Compliance"])
	if prevCompliance == "PASSED" && (newCompliance == "WARNING" || newCompliance == "FAILED" || newCompliance == "NOT_AVAILABLE") {
		reopened = true
	}
	if wf := nestedStatus(in["Workflow"]); reopened && (wf == "NOTIFIED" || wf == "RESOLVED") {
		in["Workflow"] = map[string]any{"Status": "NEW"}
	}
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	s.findings[key] = b
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func nestedStatus(v any) string {
	m, _ := v.(map[string]any)
	return str(m["Status"])
}

// findingFilterFields maps the GetFindings filters awssim understands to
// the finding's attribute.
var findingFilterFields = map[string]func(f map[string]any) string{
	"Id":               func(f map[string]any) string { return str(f["Id"]) },
	"ProductArn":       func(f map[string]any) string { return str(f["ProductArn"]) },
	"GeneratorId":      func(f map[string]any) string { return str(f["GeneratorId"]) },
	"AwsAccountId":     func(f map[string]any) string { return str(f["AwsAccountId"]) },
	"RecordState":      func(f map[string]any) string { return str(f["RecordState"]) },
	"ComplianceStatus": func(f map[string]any) string { return nestedStatus(f["Compliance"]) },
	"WorkflowStatus":   func(f map[string]any) string { return nestedStatus(f["Workflow"]) },
}

type stringFilter struct {
	Value, Comparison string
}

// matches applies one attribute's filters: EQUALS and PREFIX values are
// alternatives (any may match); NOT_EQUALS and PREFIX_NOT_EQUALS must all
// hold.
func matches(v string, fs []stringFilter) bool {
	anyPositive, positive := false, false
	for _, f := range fs {
		switch f.Comparison {
		case "EQUALS":
			anyPositive = true
			positive = positive || v == f.Value
		case "PREFIX":
			anyPositive = true
			positive = positive || strings.HasPrefix(v, f.Value)
		case "NOT_EQUALS":
			if v == f.Value {
				return false
			}
		case "PREFIX_NOT_EQUALS":
			if strings.HasPrefix(v, f.Value) {
				return false
			}
		}
	}
	return !anyPositive || positive
}

// getFindings returns the caller's findings that match the filters, in
// product ARN and Id order, MaxResults (at most 100) a page.
func getFindings(c *call) (any, *apiError) {
	var in struct {
		Filters    map[string][]stringFilter
		MaxResults int
		NextToken  string
	}
	if len(c.body) > 0 {
		if err := json.Unmarshal(c.body, &in); err != nil {
			return nil, errf(http.StatusBadRequest, "InvalidInputException", "awssim: %v", err)
		}
	}
	for name, fs := range in.Filters {
		if findingFilterFields[name] == nil {
			return nil, errf(http.StatusBadRequest, "InvalidInputException", "awssim: filter %s is not simulated", name)
		}
		for _, f := range fs {
			switch f.Comparison {
			case "EQUALS", "PREFIX", "NOT_EQUALS", "PREFIX_NOT_EQUALS":
			default:
				return nil, errf(http.StatusBadRequest, "InvalidInputException", "Invalid Comparison %q for filter %s", f.Comparison, name)
			}
		}
	}
	if in.MaxResults == 0 {
		in.MaxResults = 100
	}
	if in.MaxResults < 1 || in.MaxResults > 100 {
		return nil, errf(http.StatusBadRequest, "InvalidInputException", "MaxResults must be between 1 and 100")
	}
	start := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(in.NextToken)
		if err != nil || n < 0 {
			return nil, errf(http.StatusBadRequest, "InvalidInputException", "Invalid NextToken")
		}
		start = n
	}
	keys := make([]string, 0, len(c.s.findings))
	for k := range c.s.findings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var all []json.RawMessage
	for _, k := range keys {
		var f map[string]any
		if err := json.Unmarshal(c.s.findings[k], &f); err != nil {
			continue
		}
		if str(f["AwsAccountId"]) != c.p.account {
			continue // an administrator's view of members is not simulated
		}
		ok := true
		for name, fs := range in.Filters {
			if !matches(findingFilterFields[name](f), fs) {
				ok = false
				break
			}
		}
		if ok {
			all = append(all, c.s.findings[k])
		}
	}
	out := map[string]any{"Findings": []json.RawMessage{}}
	if start < len(all) {
		end := min(start+in.MaxResults, len(all))
		out["Findings"] = all[start:end]
		if end < len(all) {
			out["NextToken"] = strconv.Itoa(end)
		}
	}
	return out, nil
}

// Findings returns the Security Hub findings imported so far, by id.
func (s *Server) Findings() map[string]json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]json.RawMessage, len(s.findings))
	for k, v := range s.findings {
		out[k] = v
	}
	return out
}
