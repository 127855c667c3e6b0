package awssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

var securityHubOps = map[string]handler{
	"BatchImportFindings": batchImportFindings,
}

// securityHubRoute names the operation of a restJson1 request.
func securityHubRoute(method, path string) string {
	if method == http.MethodPost && path == "/findings/import" {
		return "BatchImportFindings"
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
		if f.Severity == nil || f.Severity.Label == "" {
			missing = append(missing, "Severity.Label")
		}
		slices.Sort(missing)
		switch {
		case len(missing) > 0:
			failed = append(failed, importFailure{Id: f.Id, ErrorCode: "InvalidInput", ErrorMessage: "Finding does not adhere to Amazon Finding Format. Missing: " + strings.Join(missing, ", ")})
		case f.SchemaVersion != "2018-10-08":
			failed = append(failed, importFailure{Id: f.Id, ErrorCode: "InvalidInput", ErrorMessage: "SchemaVersion must be 2018-10-08"})
		case f.ProductArn != fmt.Sprintf("arn:aws:securityhub:%s:%s:product/%s/default", c.region, c.p.account, c.p.account):
			failed = append(failed, importFailure{Id: f.Id, ErrorCode: "AccessDeniedException", ErrorMessage: "The caller may not import findings to product " + f.ProductArn})
		default:
			c.s.findings[f.ProductArn+"/"+f.Id] = append(json.RawMessage(nil), raw...)
			success++
		}
	}
	return map[string]any{"FailedCount": len(failed), "SuccessCount": success, "FailedFindings": failed}, nil
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
