package awssim

import "net/http"

type virtualMFADeviceXML struct {
	SerialNumber string
	User         *userXML `xml:"User,omitempty"`
	EnableDate   *xmlTime `xml:"EnableDate,omitempty"`
}

type listVirtualMFADevicesResult struct {
	VirtualMFADevices xmlList[virtualMFADeviceXML]
	IsTruncated       bool
	Marker            string `xml:"Marker,omitempty"`
}

// listVirtualMFADevices lists the caller account's virtual MFA devices:
// those assigned to the root user (User is the root: its ARN ends in
// :root, as Security Hub's IAM.6 check reads it), to the administrator,
// and the unassigned ones, filtered by AssignmentStatus.
func listVirtualMFADevices(c *call) (any, *apiError) {
	s := c.s
	acct := s.accounts[c.p.account]
	status := c.param("AssignmentStatus")
	switch status {
	case "", "Any", "Assigned", "Unassigned":
	default:
		return nil, errf(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value '%s' at 'assignmentStatus' failed to satisfy constraint: Member must satisfy enum value set: [Any, Assigned, Unassigned]", status)
	}
	var devs []virtualMFADeviceXML
	if status != "Unassigned" {
		for _, d := range acct.Root.MFA {
			if d.Kind == MFAVirtual {
				devs = append(devs, virtualMFADeviceXML{SerialNumber: d.Serial, EnableDate: xtime(d.EnableDate),
					User: &userXML{UserId: acct.ID, Arn: "arn:aws:iam::" + acct.ID + ":root", CreateDate: xmlTime(acct.Created)}})
			}
		}
		if s.admin.account == acct.ID {
			for _, d := range s.admin.creds.MFA {
				if d.Kind == MFAVirtual {
					devs = append(devs, virtualMFADeviceXML{SerialNumber: d.Serial, EnableDate: xtime(d.EnableDate),
						User: &userXML{Path: "/", UserName: s.admin.name, UserId: s.admin.id, Arn: s.admin.arn(), CreateDate: xmlTime(s.admin.created)}})
				}
			}
		}
	}
	if status != "Assigned" {
		for _, d := range s.spare[acct.ID] {
			devs = append(devs, virtualMFADeviceXML{SerialNumber: d.Serial})
		}
	}
	start, end, more, marker, e := c.page(len(devs))
	if e != nil {
		return nil, e
	}
	out := listVirtualMFADevicesResult{IsTruncated: more, Marker: marker}
	out.VirtualMFADevices.Member = append([]virtualMFADeviceXML{}, devs[start:end]...)
	return out, nil
}
