package mode

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
)

// Tree is the organization's OU tree: ids and paths both ways.
type Tree struct {
	RootID string
	// Paths maps OU ids (and the root id) to paths: Root/Workloads/Prod.
	Paths OUPaths
	// IDs maps paths to OU ids; "Root" is the root id.
	IDs map[string]string
	// Parents maps OU ids to their parent's id.
	Parents map[string]string
}

// ReadTree walks the OU tree from the root, breadth first: ListRoots, then
// ListOrganizationalUnitsForParent (paginated) for the root and each OU.
func ReadTree(ctx context.Context, org *organizations.Client) (*Tree, error) {
	roots, err := org.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		return nil, fmt.Errorf("mode: list roots: %w", err)
	}
	if len(roots.Roots) == 0 {
		return nil, errors.New("mode: list roots: the organization has no root")
	}
	t := &Tree{RootID: aws.ToString(roots.Roots[0].Id), Paths: OUPaths{}, IDs: map[string]string{}, Parents: map[string]string{}}
	t.Paths[t.RootID], t.IDs["Root"] = "Root", t.RootID
	queue := []string{t.RootID}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		p := organizations.NewListOrganizationalUnitsForParentPaginator(org, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(parent)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("mode: list OUs under %s: %w", t.Paths[parent], err)
			}
			for _, ou := range page.OrganizationalUnits {
				id := aws.ToString(ou.Id)
				path := t.Paths[parent] + "/" + aws.ToString(ou.Name)
				t.Paths[id], t.IDs[path], t.Parents[id] = path, id, parent
				queue = append(queue, id)
			}
		}
	}
	return t, nil
}

// Find resolves an OU given as a path (Root/Workloads/Prod, or
// Workloads/Prod below the root), an ou- id or the root id, to its id and
// path.
func (t *Tree) Find(ou string) (id, path string, ok bool) {
	if p, ok := t.Paths[ou]; ok {
		return ou, p, true
	}
	for _, p := range []string{ou, "Root/" + ou} {
		if id, ok := t.IDs[p]; ok {
			return id, p, true
		}
	}
	return "", "", false
}

// Chain lists an OU's id and its ancestors' up to the root id.
func (t *Tree) Chain(id string) []string {
	var out []string
	for seen := 0; id != "" && seen < 10; id, seen = t.Parents[id], seen+1 {
		out = append(out, id)
	}
	return out
}
