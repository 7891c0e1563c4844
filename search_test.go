package openqq

import (
	"slices"
	"testing"
)

// The prepared matcher compares ids as numbers; it must select exactly what
// comparing every field's string form (the definition, spec §4.6) selects.
func TestSearchMatchesStringComparison(t *testing.T) {
	mark := "5"
	c := &Contacts{
		Friends: []Friend{
			{ID: 5, UID: 123, Name: "5"},
			{ID: -5, UID: 0, Name: "x", Markname: &mark},
			{ID: 0, UID: 5, Name: ""},
			{ID: 9007199254740993, UID: 42, Name: "big"},
		},
		Groups: []Group{{ID: 5, UID: 5, Code: 7, Name: "g", Members: []Member{{ID: 5, UID: 6, Name: "m"}, {ID: 6, UID: 5}}}},
		Discusses: []Discuss{{ID: 5, OwnerID: 0, Name: "d",
			Members: []DiscussMember{{ID: 5, UID: 6, Name: "dm"}}}},
	}
	values := []string{"", "0", "5", "05", "+5", "-5", " 5", "123", "x", "9007199254740993", "9007199254740992", "99999999999999999999"}
	keys := []string{"id", "uid", "qq", "gid", "code", "owner_id", "name", "markname", "nosuchkey"}

	var crits []Criteria
	for _, k := range keys {
		for _, v := range values {
			crits = append(crits, Criteria{k: v})
			crits = append(crits, Criteria{k: v, "name": "5"}, Criteria{k: v, "nosuchkey": "y"})
		}
	}
	for _, crit := range crits {
		if got, want := c.SearchFriends(crit), naive(c.Friends, crit); !slices.Equal(got, want) {
			t.Errorf("SearchFriends(%v) = %v, want %v", crit, got, want)
		}
		if got, want := c.SearchGroups(crit), naive(c.Groups, crit); !slices.Equal(got, want) {
			t.Errorf("SearchGroups(%v) = %v, want %v", crit, got, want)
		}
		if got, want := c.Groups[0].SearchMembers(crit), naive(c.Groups[0].Members, crit); !slices.Equal(got, want) {
			t.Errorf("Group.SearchMembers(%v) = %v, want %v", crit, got, want)
		}
		if got, want := c.SearchDiscusses(crit), naive(c.Discusses, crit); !slices.Equal(got, want) {
			t.Errorf("SearchDiscusses(%v) = %v, want %v", crit, got, want)
		}
		if got, want := c.Discusses[0].SearchMembers(crit), naive(c.Discusses[0].Members, crit); !slices.Equal(got, want) {
			t.Errorf("Discuss.SearchMembers(%v) = %v, want %v", crit, got, want)
		}
	}
}

// naive is the definition: every key the object knows equals its string
// form, and at least one key is known.
func naive[T any, P interface {
	*T
	Field(string) (string, bool)
}](objs []T, crit Criteria) []P {
	var out []P
	for i := range objs {
		known, ok := 0, true
		for k, v := range crit {
			got, has := P(&objs[i]).Field(k)
			if !has {
				continue
			}
			known++
			ok = ok && got == v
		}
		if ok && known > 0 {
			out = append(out, &objs[i])
		}
	}
	return out
}

func BenchmarkSearchFriendsByID(b *testing.B) {
	c := &Contacts{Friends: make([]Friend, 1000)}
	for i := range c.Friends {
		c.Friends[i] = Friend{ID: ID(1_000_000 + i), UID: ID(2_000_000 + i), Name: "f"}
	}
	crit := Criteria{"id": "1000999"}
	for b.Loop() {
		if len(c.SearchFriends(crit)) != 1 {
			b.Fatal("not found")
		}
	}
}
