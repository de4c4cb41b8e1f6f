package storetest

import (
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// testRekeyCustomer: a changed number moves the customer, keeping their
// conversations; a number taken by another customer or an unknown old
// number changes nothing.
func testRekeyCustomer(t *testing.T, open Opener) {
	s := open(t)
	ctx, now := t.Context(), helpdesk.Now()
	ch := mustUpsertChannel(t, s, "pn-rekey")
	conv := mustOpenConversation(t, s, ch, "5511912345678")
	mustOpenConversation(t, s, ch, "5511955550000")

	moved, err := s.RekeyCustomer(ctx, []string{"5511912345678", "551112345678"}, []string{"5511955554444"}, now)
	if err != nil || !moved {
		t.Fatalf("RekeyCustomer = %v, %v; want moved", moved, err)
	}
	got, err := s.GetConversation(ctx, conv.ID)
	if err != nil || got.Customer.WAID != "5511955554444" || got.Customer.ID != conv.Customer.ID {
		t.Fatalf("after the move the conversation's customer is %+v, %v", got.Customer, err)
	}
	// The old number is nobody's now: a message from it is a new customer.
	if c, err := s.UpsertCustomer(ctx, []string{"5511912345678"}, "", now); err != nil || c.ID == conv.Customer.ID {
		t.Errorf("old number still maps to the moved customer: %+v, %v", c, err)
	}
	for _, tc := range []struct {
		name     string
		old, new []string
	}{
		{"new number taken", []string{"5511955554444"}, []string{"5511955550000"}},
		{"unknown old number", []string{"5511900000000"}, []string{"5511911111111"}},
		{"no numbers", nil, nil},
	} {
		moved, err := s.RekeyCustomer(ctx, tc.old, tc.new, now)
		if err != nil || moved {
			t.Errorf("%s: RekeyCustomer = %v, %v; want nothing moved", tc.name, moved, err)
		}
	}
}
