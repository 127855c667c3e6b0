// Package org is the organization: Read walks it once (the OU tree, every
// account and where it sits, the root-deny SCPs and where they apply, the
// root-access setup) and every command asks the Organization it returns;
// ReadStatus and Enable read and change the organization-wide setup that
// centralized root access needs: all-features mode, trusted access for
// IAM, an optional IAM delegated administrator, and the two root-access
// features (root credentials management and root sessions).
package org
