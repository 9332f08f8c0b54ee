package identity

import (
	"context"
	"errors"
	"os/user"
	"slices"
	"testing"
)

// TestUnixGroupsCurrentUser asks the real host for the groups of the user
// running the test: they include the user's primary group, as `id -Gn`
// would show.
func TestUnixGroupsCurrentUser(t *testing.T) {
	me, err := user.Current()
	if err != nil {
		t.Skipf("no current user: %v", err)
	}
	primary, err := user.LookupGroupId(me.Gid)
	if err != nil {
		t.Skipf("the primary group %s has no name: %v", me.Gid, err)
	}
	got, err := UnixGroups{}.Groups(context.Background(), me.Username)
	if err != nil {
		t.Fatalf("Groups(%q): %v", me.Username, err)
	}
	if !slices.Contains(got, primary.Name) {
		t.Errorf("Groups(%q) = %q, want it to include the primary group %q", me.Username, got, primary.Name)
	}
	if slices.Contains(got, "") {
		t.Errorf("Groups(%q) = %q has an empty name", me.Username, got)
	}

	// Through a Resolver that is not JWT-only, for a JWT user with a
	// claim: the host's groups, exactly as spelled, case-sensitive.
	r, err := NewResolver(ResolverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := r.Resolve(context.Background(), jwtUser(me.Username, "ignored"))
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if g.Source != SourceUnix || g.CaseInsensitive || !slices.Contains(g.Names, primary.Name) {
		t.Errorf("Resolve = %+v, want unix groups including %q, case-sensitive", g, primary.Name)
	}
}

func TestUnixGroupsUnknownUser(t *testing.T) {
	const nobody = "lakegate-no-such-user-7f3a"
	if _, err := user.Lookup(nobody); !errors.As(err, new(user.UnknownUserError)) {
		t.Skipf("the host knows %s (or cannot say): %v", nobody, err)
	}
	got, err := UnixGroups{}.Groups(context.Background(), nobody)
	if err != nil || got != nil {
		t.Fatalf("Groups(unknown user) = %q, %v; want no groups and no error", got, err)
	}
}

func TestUnixGroupsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (UnixGroups{}).Groups(ctx, "root"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Groups with a cancelled context: %v, want context.Canceled", err)
	}
}
