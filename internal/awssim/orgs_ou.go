package awssim

import (
	"encoding/json"
	"net/http"
)

// describeOrganizationalUnit answers DescribeOrganizationalUnit: the id, ARN
// and name of one OU, for the management account or a delegated
// administrator. An id that is not an OU of the scenario (the root's id
// included) is OrganizationalUnitNotFound, as in AWS; a malformed one is
// InvalidInputException.
func describeOrganizationalUnit(c *call) (any, *apiError) {
	if _, e := c.orgsInput(); e != nil {
		return nil, e
	}
	var in struct{ OrganizationalUnitId string }
	if len(c.body) > 0 {
		if err := json.Unmarshal(c.body, &in); err != nil {
			return nil, errf(http.StatusBadRequest, "SerializationException", "awssim: %v", err)
		}
	}
	if !reOUID().MatchString(in.OrganizationalUnitId) {
		return nil, invalidInput("INVALID_PATTERN", "You specified a value with an invalid pattern: OrganizationalUnitId %q.", in.OrganizationalUnitId)
	}
	ou := c.s.ous[in.OrganizationalUnitId]
	if ou == nil {
		return nil, errf(http.StatusNotFound, "OrganizationalUnitNotFoundException", "We can't find an organizational unit (OU) with the OrganizationalUnitId that you specified.")
	}
	return map[string]any{"OrganizationalUnit": ouJSON{Id: ou.ID, Arn: c.s.orgARN("ou", ou.ID), Name: ou.Name}}, nil
}
